"""The minutes of a closed session: the PDF, who confirmed it, and a present member's
confirmation by re-entering their password (step-up re-authentication)."""

from django.http import Http404, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views import generic

from approvals import services
from approvals.forms import MinutesConfirmForm
from approvals.models import CLOSED, Attendance, MinutesConfirmation, SessionMinutes
from approvals.views.access import SessionPageMixin
from core.views import ServiceFormMixin
from twofactor.stepup import second_factor_proof


def minutes_filename(session) -> str:
    return f"minutes-session-{session.pk}-{session.scheduled_for:%Y-%m-%d}.pdf"


class MinutesPdfView(SessionPageMixin, generic.View):
    """The stored PDF, byte for byte: its SHA-256 is the one in the closing audit entry."""

    def get(self, request, *args, **kwargs):
        minutes = SessionMinutes.objects.filter(session=self.session).first()
        if minutes is None:
            raise Http404(_("This session has no minutes yet."))
        response = HttpResponse(bytes(minutes.pdf), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{minutes_filename(self.session)}"'
        response["Content-Length"] = str(len(response.content))
        return response


class MinutesConfirmationsView(SessionPageMixin, generic.TemplateView):
    template_name = "approvals/minutes_confirmations.html"

    def get_context_data(self, **kwargs):
        session = self.session
        confirmations = list(MinutesConfirmation.objects.filter(session=session).select_related("user")
                             .order_by("confirmed_at", "pk"))
        confirmed = {c.user_id for c in confirmations}
        present = list(Attendance.objects.filter(session=session, present=True).select_related("user")
                       .order_by("user__last_name", "user__username"))
        user = self.request.user
        return super().get_context_data(
            confirmations=confirmations,
            awaiting=[a.user for a in present if a.user_id not in confirmed],
            minutes=SessionMinutes.objects.filter(session=session).values("sha256", "created_at").first(),
            can_confirm=(session.state == CLOSED and self.is_voter and user.pk not in confirmed
                         and any(a.user_id == user.pk for a in present)),
            **kwargs,
        )


class MinutesConfirmView(ServiceFormMixin, SessionPageMixin, generic.TemplateView):
    template_name = "approvals/minutes_confirm.html"
    success_message = _("You confirmed the minutes.")

    def check_access(self):
        if not self.is_voter:
            self.deny(_("Only the members of this committee confirm its minutes."))

    def get_bound_form(self):
        return MinutesConfirmForm(self.request.POST, user=self.request.user)

    def call_service(self, form):
        services.minutes_confirm(session_id=self.session.pk, actor=self.request.user,
                                 password=form.cleaned_data["password"],
                                 second_factor=second_factor_proof(self.request, form.cleaned_data))

    def get_success_url(self):
        return reverse("committees:confirmations", args=[self.session.pk])

    def get_context_data(self, **kwargs):
        kwargs.setdefault("form", MinutesConfirmForm(user=self.request.user))
        return super().get_context_data(
            closed=self.session.state == CLOSED,
            minutes=SessionMinutes.objects.filter(session=self.session).values("sha256", "created_at").first(),
            already=MinutesConfirmation.objects.filter(session=self.session, user=self.request.user).exists(),
            **kwargs,
        )
