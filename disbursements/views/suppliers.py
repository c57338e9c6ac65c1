"""The suppliers quotes are asked from: a searchable list, and registering a new one."""

from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.paginator import Paginator
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext_lazy as _
from django.views import generic

from core.views import ServiceFormView
from disbursements import selectors, services
from disbursements.forms import SupplierForm
from disbursements.views.access import ADD_SUPPLIER, VIEW_SUPPLIERS

SUPPLIERS_PAGE_SIZE = 25


class SupplierListView(PermissionRequiredMixin, generic.TemplateView):
    """``?q=`` searches names, ICE and cities; 25 a page."""

    permission_required = VIEW_SUPPLIERS
    template_name = "disbursements/suppliers.html"

    def get_context_data(self, **kwargs):
        search = self.request.GET.get("q", "").strip()[:100]
        page = Paginator(selectors.suppliers(search), SUPPLIERS_PAGE_SIZE).get_page(self.request.GET.get("page"))
        return super().get_context_data(
            page=page, search=search, query=urlencode({"q": search}) if search else "",
            can_add=self.request.user.has_perm(ADD_SUPPLIER), **kwargs,
        )


class SupplierCreateView(PermissionRequiredMixin, ServiceFormView):
    """Register a supplier; ``?next=`` (a page of this site, e.g. the quote being entered)
    is where the user goes back to."""

    permission_required = ADD_SUPPLIER
    form_class = SupplierForm
    title = _("New supplier")
    submit_label = _("Register the supplier")

    def call_service(self, form):
        data = form.cleaned_data
        return services.supplier_create(actor=self.request.user, name=data["name"], ice=data["ice"],
                                        city=data["city"])

    def get_subject(self):
        return _("Suppliers")

    def _next(self):
        target = self.request.GET.get("next", "")
        if target and url_has_allowed_host_and_scheme(target, allowed_hosts={self.request.get_host()},
                                                      require_https=self.request.is_secure()):
            return target
        return ""

    def get_back_url(self):
        return self._next() or reverse("funding:suppliers")

    def get_success_url(self):
        return self._next() or f"{reverse('funding:suppliers')}?{urlencode({'q': self.result.name})}"

    def get_success_message(self, result):
        return _("%(name)s is registered.") % {"name": result.name}
