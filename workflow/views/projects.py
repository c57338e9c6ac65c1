"""Project list and project detail: read-only pages over the selectors."""

from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from django.views import generic

from .. import selectors
from ..forms import ProjectFilterForm
from ..models import GrantProject


class ProjectListView(PermissionRequiredMixin, generic.ListView):
    permission_required = "workflow.view_grantproject"
    template_name = "workflow/project_list.html"
    context_object_name = "projects"
    paginate_by = 20
    title = _("Projects")

    def get_queryset(self):
        self.filter_form = ProjectFilterForm(self.request.GET or None)
        if self.filter_form.is_valid():
            return selectors.project_list(
                search=self.filter_form.cleaned_data["q"], state=self.filter_form.cleaned_data["state"]
            )
        return selectors.project_list()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        query = self.request.GET.copy()
        query.pop("page", None)
        context.update(filter_form=self.filter_form, page_query=query.urlencode())
        return context


class ProjectDetailView(PermissionRequiredMixin, generic.TemplateView):
    permission_required = "workflow.view_grantproject"
    template_name = "workflow/project_detail.html"

    def get_context_data(self, **kwargs):
        try:
            project = selectors.project_detail(self.kwargs["pk"])
        except GrantProject.DoesNotExist:
            raise Http404(_("No such project.")) from None
        process, open_tasks = selectors.project_process(project)
        show_sensitive = selectors.can_view_sensitive(self.request.user)
        documents = [
            (document, show_sensitive or document.doc_type not in selectors.SENSITIVE_DOCUMENT_TYPES)
            for document in selectors.project_documents(project)
        ]
        return super().get_context_data(
            project=project,
            beneficiary=project.beneficiary,
            show_sensitive=show_sensitive,
            documents=documents,
            timeline=selectors.project_timeline(project),
            process=process,
            open_tasks=open_tasks,
            **kwargs,
        )
