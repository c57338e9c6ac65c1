"""The people's pages (``/people/``): who holds which role, a person's roles with
the forms that grant and revoke them, the grants waiting for a second administrator,
and the person's audit history. Every change goes through ``access.services``."""

from django.contrib.auth import get_user_model
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import Http404
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django.views import generic

from access import selectors, services
from access.forms import ApproveForm, GrantForm, PeopleFilterForm, ReasonForm
from access.models import Account, RoleRequest
from core.pagination import KeysetListMixin
from core.roles import Role
from core.views import ServiceFormView
from ledger import selectors as ledger_selectors

User = get_user_model()
READ = "access.view_account"
MANAGE = services.MANAGE


def person_or_404(pk):
    user = User.objects.filter(pk=pk).first()
    if user is None:
        raise Http404(_("No such person."))
    return user


class PeopleListView(PermissionRequiredMixin, KeysetListMixin, generic.ListView):
    permission_required = READ
    template_name = "access/list.html"
    context_object_name = "people"
    paginate_by = 25
    keyset = ("username", "pk")

    def get_queryset(self):
        self.filter_form = PeopleFilterForm(self.request.GET or None)
        data = self.filter_form.cleaned_data if self.filter_form.is_valid() else {}
        return selectors.people(search=data.get("q", ""), role=data.get("role", ""))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(filter_form=self.filter_form, is_filtered=bool(context["page"].params),
                       pending=selectors.pending_requests(), can_manage=self.request.user.has_perm(MANAGE))
        return context


class PersonDetailView(PermissionRequiredMixin, generic.TemplateView):
    permission_required = READ
    template_name = "access/detail.html"

    def get_context_data(self, **kwargs):
        person = person_or_404(self.kwargs["pk"])
        user = self.request.user
        account = Account.objects.filter(pk=person.pk).first()
        verification = ledger_selectors.entity_verification(account) if account else None
        timeline = selectors.account_timeline(person)
        if verification:
            for entry in timeline:
                entry.problems = verification.messages_for(entry.entry_id)
        may_manage = user.has_perm(MANAGE) and user.pk != person.pk
        return super().get_context_data(
            person=person, roles=selectors.roles_held(person),
            pending=selectors.pending_requests(user_id=person.pk), timeline=timeline,
            verification=verification, may_manage=may_manage, is_self=user.pk == person.pk, **kwargs)


class PersonMixin:
    @cached_property
    def person(self):
        return person_or_404(self.kwargs["pk"])

    def get_subject(self):
        return self.person.get_full_name() or self.person.username

    def get_back_url(self):
        return reverse("people:detail", args=[self.person.pk])


class GrantView(PersonMixin, PermissionRequiredMixin, ServiceFormView):
    permission_required = MANAGE
    form_class = GrantForm
    title = _("Grant a role")
    intro = _("The committee's, the money's, the auditor's and the administrator's roles are given once a "
              "second administrator approves. Each grant is signed in the person's audit history.")
    submit_label = _("Grant")
    action_name = "grant_role"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "held": {r.value for r in selectors.roles_held(self.person)}}

    def call_service(self, form):
        return services.role_request(user_id=self.person.pk, role=form.cleaned_data["role"],
                                     actor=self.request.user, reason=form.cleaned_data["reason"])

    def get_success_message(self, result):
        if result is None:
            return _("Role granted.")
        return _("Request recorded: another administrator must approve it.")


class RevokeView(PersonMixin, PermissionRequiredMixin, ServiceFormView):
    permission_required = MANAGE
    form_class = ReasonForm
    submit_label = _("Revoke")
    danger = True
    action_name = "revoke_role"
    success_message = _("Role revoked.")

    @cached_property
    def role(self):
        value = self.kwargs["role"]
        if value not in Role.values:
            raise Http404(_("No such role."))
        return Role(value)

    @property
    def title(self):
        return _("Revoke the role “%(role)s”") % {"role": self.role.label}

    @property
    def confirm(self):
        return _("I revoke this role: the person loses what it lets them do at once.")

    def call_service(self, form):
        return services.role_revoke(user_id=self.person.pk, role=self.role.value, actor=self.request.user,
                                    reason=form.cleaned_data["reason"])


class RequestMixin(PermissionRequiredMixin):
    permission_required = MANAGE

    @cached_property
    def role_request(self):
        found = RoleRequest.objects.select_related("account__user", "requested_by").filter(
            pk=self.kwargs["pk"]).first()
        if found is None:
            raise Http404(_("No such request."))
        return found

    def get_subject(self):
        r = self.role_request
        return f"{r.account.user.get_full_name() or r.account.user.username} — {r.get_role_display()}"

    def get_back_url(self):
        return reverse("people:detail", args=[self.role_request.account_id])

    def get_unavailable_reason(self):
        r = self.role_request
        if r.status != RoleRequest.Status.PENDING:
            return _("This request has already been decided.")
        if r.requested_by_id == self.request.user.pk:
            return _("A second administrator must approve: not the one who asked.")
        if r.account_id == self.request.user.pk:
            return _("Nobody changes their own roles: ask another administrator.")
        return ""

    def get_context_data(self, **kwargs):
        r = self.role_request
        kwargs.setdefault("action_intro", _("%(who)s asked on %(when)s: “%(reason)s”") % {
            "who": r.requested_by.get_full_name() or r.requested_by.username,
            "when": r.requested_at.strftime("%Y-%m-%d"), "reason": r.reason})
        return super().get_context_data(**kwargs)


class ApproveView(RequestMixin, ServiceFormView):
    form_class = ApproveForm
    title = _("Approve the role")
    submit_label = _("Approve")
    action_name = "approve_role"
    success_message = _("Role granted.")

    def call_service(self, form):
        return services.role_approve(request_id=self.role_request.pk, actor=self.request.user,
                                     reason=form.cleaned_data["reason"])


class RefuseView(RequestMixin, ServiceFormView):
    form_class = ReasonForm
    title = _("Refuse the role")
    submit_label = _("Refuse")
    danger = True
    action_name = "refuse_role"
    success_message = _("Request refused.")

    def call_service(self, form):
        return services.role_refuse(request_id=self.role_request.pk, actor=self.request.user,
                                    reason=form.cleaned_data["reason"])
