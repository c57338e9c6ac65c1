"""The administrators' page of people's second factors, and the reset of someone's
who lost their devices (by another administrator, with a reason: audited)."""

from django.contrib.auth import get_user_model
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import Http404
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django.views import generic

from core.views import ServiceFormView
from twofactor import selectors, services
from twofactor.forms import ResetForm


class PeopleView(PermissionRequiredMixin, generic.TemplateView):
    """Who must have a second factor or has one, and whether they are enrolled."""

    template_name = "twofactor/people.html"
    permission_required = services.RESET

    def get_context_data(self, **kwargs):
        search = self.request.GET.get("q", "").strip()[:100]
        return super().get_context_data(people=selectors.people(search), search=search, **kwargs)


class ResetView(PermissionRequiredMixin, ServiceFormView):
    permission_required = services.RESET
    form_class = ResetForm
    title = _("Reset a second factor")
    intro = _("Every authenticator app, passkey and recovery code of this person is removed: they set up a new "
              "second factor at their next page. Do it only once you are sure who asks. Your name, theirs, "
              "the reason and the time are signed in the audit ledger.")
    submit_label = _("Reset the second factor")
    confirm = _("I checked who this person is: their devices are removed.")
    danger = True

    @cached_property
    def person(self):
        person = get_user_model().objects.filter(pk=self.kwargs["pk"]).first()
        if person is None:
            raise Http404(_("No such person."))
        return person

    def get_subject(self):
        return self.person.get_full_name() or self.person.get_username()

    def get_back_url(self):
        return reverse("security:people")

    def get_unavailable_reason(self):
        if self.person.pk == self.request.user.pk:
            return _("Nobody resets their own second factor: another administrator does it.")
        return ""

    def call_service(self, form):
        return services.second_factor_reset(actor=self.request.user, user_id=self.person.pk,
                                            reason=form.cleaned_data["reason"])

    def get_success_message(self, result):
        return _("The second factor of %(name)s is reset: they set up a new one at their next page.") % {
            "name": self.get_subject()}
