"""The programs' pages: the list, a program (its settings, what the apps above add —
committees, training plan — and the audit timeline of its chain), and the forms that
set one up and change it through ``program_create`` / ``program_update``."""

from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import Http404
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django.views import generic

from core.actions import Action
from core.views import ServiceFormView
from ledger import selectors as ledger_selectors
from workflow import program_sections, selectors_programs, services
from workflow.forms_programs import ProgramFilterForm, ProgramForm
from workflow.models import Program

READ = "workflow.view_program"
ADD = "workflow.add_program"
CHANGE = "workflow.change_program"


def program_or_404(pk) -> Program:
    program = Program.objects.filter(pk=pk).first()
    if program is None:
        raise Http404(_("No such program."))
    return program


class ProgramListView(PermissionRequiredMixin, generic.ListView):
    permission_required = READ
    template_name = "workflow/programs/list.html"
    context_object_name = "programs"
    paginate_by = 20

    def get_queryset(self):
        self.filter_form = ProgramFilterForm(self.request.GET or None)
        search = self.filter_form.cleaned_data["q"] if self.filter_form.is_valid() else ""
        return selectors_programs.program_list(search=search)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        query = self.request.GET.copy()
        query.pop("page", None)
        context.update(filter_form=self.filter_form, page_query=query.urlencode(), is_filtered=bool(query),
                       can_add=self.request.user.has_perm(ADD))
        return context


class ProgramDetailView(PermissionRequiredMixin, generic.TemplateView):
    permission_required = READ
    template_name = "workflow/programs/detail.html"

    def get_context_data(self, **kwargs):
        program = program_or_404(self.kwargs["pk"])
        user = self.request.user
        timeline = selectors_programs.program_timeline(program)
        verification = ledger_selectors.entity_verification(program)
        for entry in timeline:
            entry.problems = verification.messages_for(entry.entry_id)
        actions = []
        if user.has_perm(CHANGE):
            actions.append(Action("configure", str(_("Change the settings")),
                                  reverse("programs:edit", args=[program.pk])))
        return super().get_context_data(
            program=program, settings=selectors_programs.program_settings(program),
            sections=program_sections.sections(program, user), timeline=timeline,
            verification=verification, actions=actions, **kwargs,
        )


class ProgramCreateView(PermissionRequiredMixin, ServiceFormView):
    permission_required = ADD
    form_class = ProgramForm
    title = _("New program")
    intro = _("Every setting is signed in the program's audit history when it is saved.")
    submit_label = _("Set up the program")
    success_message = _("Program set up.")

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "creating": True}

    def get_initial(self):
        return ProgramForm.initial_from(Program())

    def call_service(self, form):
        return services.program_create(actor=self.request.user, code=form.cleaned_data["code"], **form.settings())

    def get_subject(self):
        return _("Programs")

    def get_back_url(self):
        return reverse("programs:index")

    def get_success_url(self):
        return reverse("programs:detail", args=[self.result.pk])


class ProgramEditView(PermissionRequiredMixin, ServiceFormView):
    permission_required = CHANGE
    form_class = ProgramForm
    title = _("Change the settings")
    intro = _("Each change is signed in the program's audit history, with the values before and after.")
    success_message = _("Settings saved.")

    @cached_property
    def program(self):
        return program_or_404(self.kwargs["pk"])

    def get_initial(self):
        return ProgramForm.initial_from(self.program)

    def call_service(self, form):
        return services.program_update(program_id=self.program.pk, actor=self.request.user, **form.settings())

    def get_subject(self):
        return str(self.program)

    def get_back_url(self):
        return reverse("programs:detail", args=[self.program.pk])
