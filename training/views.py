"""The training screens (mounted at ``/training/``): sessions, the trainer's group
attendance form, the program officer's progress page and the attestation PDF.

Each write parses a form and calls one service of ``training.services``; a
coded error goes back on the form (never a 500). Reads go through
``training.selectors``. These checks only decide what a page shows: the
services check again.
"""

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.views import generic

from core.exceptions import TamkeenError
from core.forms import add_service_error
from core.views import call_with_form, failed
from training import services as training_services
from training.attendance import hours_text
from training.forms import GroupAttendanceForm, ProgressProgramForm, SessionCreateForm, SessionFilterForm
from training.models import TrainingSession
from training.selectors import (
    _attended_hours,
    _progress,
    _training_plan,
    projects_ready_for_training_signoff,
    session_roster,
    trained_projects,
)
from workflow.models import GrantProject, ProjectState

# Program officers (they schedule for any trainer), auditors and administrators read
# every session; a trainer reads the sessions they give.
READS_EVERY_SESSION = ("training.assign_trainer", "ledger.view_auditentry")


def reads_every_session(user) -> bool:
    return any(user.has_perm(perm) for perm in READS_EVERY_SESSION)


def visible_sessions(user):
    sessions = TrainingSession.objects.select_related("program", "module", "trainer")
    if reads_every_session(user):
        return sessions
    return sessions.filter(trainer=user)


class SessionListView(PermissionRequiredMixin, generic.ListView):
    """Upcoming and past sessions (a trainer's own, or every session for an officer),
    filtered by module, with the way to schedule a new one."""

    permission_required = "training.view_trainingsession"
    template_name = "training/session_list.html"
    context_object_name = "sessions"
    paginate_by = 20

    def get_queryset(self):
        self.filter_form = SessionFilterForm(self.request.GET or None)
        sessions = visible_sessions(self.request.user)
        if self.filter_form.is_valid():
            data = self.filter_form.cleaned_data
            if data["module"]:
                sessions = sessions.filter(module=data["module"])
            if data["program"]:
                sessions = sessions.filter(program=data["program"])
            for term in data["q"].split():
                # The place, the trainer's names, the module's names.
                sessions = sessions.filter(
                    Q(place__icontains=term) | Q(trainer__first_name__icontains=term)
                    | Q(trainer__last_name__icontains=term) | Q(trainer__username__icontains=term)
                    | Q(module__name_fr__icontains=term) | Q(module__name_ar__icontains=term)
                    | Q(module__name_en__icontains=term)
                )
            today = timezone.localdate()
            if data["when"] == "upcoming":
                sessions = sessions.filter(date__gte=today)
            elif data["when"] == "past":
                sessions = sessions.filter(date__lt=today)
        return sessions.order_by("-date", "-start_time", "-pk")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        query = self.request.GET.copy()
        query.pop("page", None)
        user = self.request.user
        context.update(
            filter_form=self.filter_form, page_query=query.urlencode(), is_filtered=bool(query),
            today=timezone.localdate(),
            can_schedule=user.has_perm("training.add_trainingsession"),
            can_see_progress=reads_every_session(user),
        )
        return context


class SessionCreateView(PermissionRequiredMixin, generic.FormView):
    """Schedule a session: a program officer for any trainer, a trainer for themselves."""

    permission_required = "training.add_trainingsession"
    template_name = "training/session_form.html"
    form_class = SessionCreateForm

    @property
    def chooses_trainer(self) -> bool:
        return self.request.user.has_perm("training.assign_trainer")

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "choose_trainer": self.chooses_trainer}

    def form_valid(self, form):
        data = form.cleaned_data
        session = call_with_form(form, lambda: training_services.training_session_create(
            actor=self.request.user, program_id=data["program"].pk, module=data["module"],
            trainer=data["trainer"] if self.chooses_trainer else self.request.user,
            date=data["date"], start_time=data["start_time"], hours=data["hours"], place=data["place"],
            notes=data["notes"],
        ))
        if failed(session):
            return self.form_invalid(form)
        messages.success(self.request, gettext("Session scheduled: %(session)s.") % {"session": session})
        return redirect("training:index")


class AttendanceView(PermissionRequiredMixin, generic.TemplateView):
    """The session's trainer marks the whole group present or absent in one submit."""

    permission_required = "training.add_attendancerecord"
    template_name = "training/attendance.html"
    http_method_names = ["get", "post"]

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            self.session = get_object_or_404(
                TrainingSession.objects.select_related("program", "module", "trainer"), pk=kwargs["pk"]
            )
            if self.session.trainer_id != request.user.pk:
                raise PermissionDenied(gettext("Only the session's trainer records its attendance."))
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, form=None, **kwargs):
        roster = session_roster(self.session)
        if form is not None and form.is_bound:
            # After a refused submit, show what was ticked, not what is stored.
            ticked = {str(value) for value in form.data.getlist("present")}
            lines = [(line, str(line.project.pk) in ticked) for line in roster]
        else:
            lines = [(line, bool(line.present)) for line in roster]
        return super().get_context_data(
            session=self.session, lines=lines, form=form or GroupAttendanceForm(),
            taken_place=self.session.date <= timezone.localdate(),
            recorded_count=sum(1 for line in roster if line.present is not None),
            **kwargs,
        )

    def post(self, request, *args, **kwargs):
        form = GroupAttendanceForm(request.POST)
        if form.is_valid():
            try:
                records = training_services.training_record_attendance(
                    session_id=self.session.pk, actor=request.user, attendance=form.attendance(),
                )
            except TamkeenError as error:
                self._add_error(form, error)
            else:
                present = sum(1 for record in records if record.present)
                messages.success(request, gettext(
                    "Attendance saved: %(present)d present, %(absent)d absent."
                ) % {"present": present, "absent": len(records) - present})
                return redirect("training:attendance", pk=self.session.pk)
        return self.render_to_response(self.get_context_data(form=form))

    @staticmethod
    def _add_error(form, error):
        """Errors on one project (``attendance.<id>``) name the project they concern."""
        named = {key: value for key, value in error.field_errors.items() if key.startswith("attendance.")}
        if not named:
            add_service_error(form, error)
            return
        projects = GrantProject.objects.in_bulk(
            [int(key.split(".", 1)[1]) for key in named if key.split(".", 1)[1].isdigit()]
        )
        for key, texts in named.items():
            suffix = key.split(".", 1)[1]
            project = projects.get(int(suffix)) if suffix.isdigit() else None
            label = project.reference if project is not None else gettext("project %(id)s") % {"id": suffix}
            for text in texts:
                form.add_error(None, gettext("%(project)s: %(message)s") % {"project": label, "message": text})
        for key, texts in error.field_errors.items():
            if key not in named:
                for text in texts:
                    form.add_error(None, text)


class ProgressView(PermissionRequiredMixin, generic.TemplateView):
    """A program's enrolled projects: hours attended / planned per mandatory module, and
    which ones are ready for the training sign-off."""

    permission_required = "training.view_programmodule"
    template_name = "training/progress.html"

    def has_permission(self):
        return super().has_permission() and reads_every_session(self.request.user)

    def get_context_data(self, **kwargs):
        form = ProgressProgramForm(self.request.GET or None)
        context = {"form": form, "program": None, "rows": [], "plan": []}
        if form.is_valid():
            program = form.cleaned_data["program"]
            plan = _training_plan(program, include_optional=False)
            projects = list(
                GrantProject.objects.filter(program=program, state=ProjectState.IN_TRAINING)
                .select_related("beneficiary", "program")  # the reference shows the program's year
                .order_by("beneficiary__last_name", "beneficiary__first_name", "pk")
            )
            ready = {project.pk for project in projects_ready_for_training_signoff(program)}
            attended = _attended_hours(program.pk, [p.pk for p in projects]) if plan and projects else {}
            rows = []
            for project in projects:
                modules = [
                    {
                        "attended": hours_text(row.attended_hours), "planned": hours_text(row.planned_hours),
                        "percent": row.percent, "met": row.met,
                    }
                    for row in _progress(plan, program, attended, project.pk)
                ]
                rows.append({"project": project, "modules": modules, "ready": project.pk in ready})
            trained = [
                {"project": project, "attestations": [
                    (language, f"{reverse('training:attestation', args=[project.pk])}?lang={language}")
                    for language in training_services.attestation_languages(project.beneficiary)
                ]}
                for project in trained_projects(program)
            ]
            context.update(program=program, plan=plan, rows=rows, ready_count=len(ready), trained=trained)
        return super().get_context_data(**context, **kwargs)


class AttestationView(PermissionRequiredMixin, generic.View):
    """The training attestation of a trained project, as a PDF in Arabic or French
    (``?lang=ar`` / ``fr``; without it, the beneficiary's language)."""

    permission_required = "workflow.view_grantproject"
    http_method_names = ["get"]

    def get(self, request, pk):
        project = GrantProject.objects.select_related("beneficiary", "program").filter(pk=pk).first()
        if project is None:
            raise Http404(gettext("No such project."))
        try:
            language = request.GET.get("lang") or training_services.attestation_languages(project.beneficiary)[0]
            pdf = training_services.training_attestation_pdf(project, language)
        except TamkeenError as error:
            if error.code == "invalid_input":
                return self.refusal(request, project, error.field_errors.get("lang", [str(error.message)])[0],
                                    status=400)
            return self.refusal(request, project, str(error.message), status=409)
        except ImproperlyConfigured:
            return self.refusal(
                request, project, gettext("The attestation cannot be generated on this server right now."),
                status=503,
            )
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="attestation-{project.reference}-{language}.pdf"'
        return response

    @staticmethod
    def refusal(request, project, message, *, status):
        return TemplateResponse(
            request, "training/attestation_refused.html", {"project": project, "message": message}, status=status,
        )
