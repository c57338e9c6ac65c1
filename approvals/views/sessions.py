"""The session archive (list), planning a session, and a session's overview page."""

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.db.models import Count, F, Q
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _
from django.views import generic

from approvals import services
from approvals.forms import SessionCreateForm, SessionFilterForm
from approvals.models import Attendance, MinutesConfirmation, SessionMinutes
from approvals.views.access import SessionPageMixin, visible_sessions
from approvals.views.summaries import agenda_items
from core.actions import named
from core.views import call_with_form, failed, next_url
from workflow import inbox


def committee_steps():
    """The committee's part of the inbox: the sessions' steps and the files waiting for
    an agenda."""
    from approvals.flows import SessionFlow
    from workflow.flows import GrantFlow

    return [GrantFlow.agenda, *(node for node in SessionFlow.instance.nodes() if hasattr(node, "screen_for"))]


class SessionListView(PermissionRequiredMixin, generic.ListView):
    """Planned, open and closed sessions the user may see, newest first; a closed
    session links to its minutes and their confirmations."""

    permission_required = "approvals.view_committeesession"
    template_name = "approvals/session_list.html"
    context_object_name = "sessions"
    paginate_by = 20

    def get_queryset(self):
        self.filter_form = SessionFilterForm(self.request.GET or None)
        sessions = visible_sessions(self.request.user)
        if self.filter_form.is_valid():
            if self.filter_form.cleaned_data["state"]:
                sessions = sessions.filter(state=self.filter_form.cleaned_data["state"])
            if self.filter_form.cleaned_data["committee"]:
                sessions = sessions.filter(committee=self.filter_form.cleaned_data["committee"])
            for term in self.filter_form.cleaned_data["q"].split():
                # The title, the place, the committee or its program.
                sessions = sessions.filter(
                    Q(title__icontains=term) | Q(location__icontains=term)
                    | Q(committee__name__icontains=term) | Q(committee__program__name__icontains=term)
                )
        # The minutes' hash, not their PDF: the list never loads the documents.
        return sessions.annotate(
            item_count=Count("items", filter=Q(items__removed=False), distinct=True),
            confirmation_count=Count("confirmations", distinct=True),
            minutes_sha256=F("minutes__sha256"),
        ).order_by("-scheduled_for", "-pk")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        query = self.request.GET.copy()
        query.pop("page", None)
        context.update(
            filter_form=self.filter_form, page_query=query.urlencode(), is_filtered=bool(query),
            can_plan=self.request.user.has_perm("approvals.manage_session"),
            waiting=inbox.rows(self.request.user, back=self.request.get_full_path(), nodes=committee_steps()),
        )
        return context


class SessionCreateView(PermissionRequiredMixin, generic.FormView):
    """The program officer plans a session: committee, title, date and time, place; then
    builds its agenda, or goes back to the page that sent them (``?next=``: a file's
    "put on an agenda" step)."""

    permission_required = "approvals.manage_session"
    template_name = "approvals/session_form.html"
    form_class = SessionCreateForm

    def form_valid(self, form):
        data = form.cleaned_data
        session = call_with_form(form, lambda: services.session_create(
            actor=self.request.user, committee=data["committee"], title=data["title"],
            scheduled_for=data["scheduled_for"], location=data["location"],
        ))
        if failed(session):
            return self.form_invalid(form)
        back = next_url(self.request)
        if back:
            messages.success(self.request, _("Session planned."))
            return redirect(back)
        messages.success(self.request, _("Session planned. Now build its agenda."))
        return redirect("committees:agenda", pk=session.pk)


class SessionDetailView(SessionPageMixin, generic.TemplateView):
    """A session at a glance, with the way into each role's page."""

    template_name = "approvals/session_detail.html"

    def get_context_data(self, **kwargs):
        session = self.session
        closed = session.is_closed
        minutes = SessionMinutes.objects.filter(session=session).values("sha256", "created_at").first()
        attendance = Attendance.objects.filter(session=session).select_related("user").order_by(
            "-present", "user__last_name", "user__username")
        context = super().get_context_data(
            items=agenda_items(session),
            # Decisions and tallies are shown once the session is closed (the minutes
            # carry them); while it is open, members never see each other's votes.
            show_decisions=closed,
            attendance=attendance,
            minutes=minutes,
            confirmation_count=MinutesConfirmation.objects.filter(session=session).count(),
            **kwargs,
        )
        # Files join the agenda while the session is planned.
        context["agenda_action"] = named(context["session_actions"], "agenda") if session.is_planned else None
        return context

