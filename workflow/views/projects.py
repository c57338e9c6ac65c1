"""Project list and project detail: read-only pages over the selectors."""

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views import generic

from .. import selectors
from ..audit.evidence import verify_entity, verify_entity_anchored
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
            verification=verify_entity(project),
            can_verify=self.request.user.has_perm("workflow.verify_ledger"),
            process=process,
            open_tasks=open_tasks,
            **kwargs,
        )


class ProjectVerifyView(PermissionRequiredMixin, generic.View):
    """Auditors only: verify the project's chain now, anchored in the latest signed
    checkpoint, and say the result on the project page."""

    permission_required = "workflow.verify_ledger"
    http_method_names = ["post"]

    def post(self, request, pk):
        project = get_object_or_404(GrantProject, pk=pk)
        report, checkpoint = verify_entity_anchored(project)
        if not report.ok:
            messages.error(request, gettext("Audit chain NOT intact: %(problem)s") % {"problem": report.problems[0]})
        elif checkpoint is None:
            messages.warning(request, ngettext(
                "%(n)d entry verified (hash, chain, signature, state machine); no signed checkpoint yet.",
                "%(n)d entries verified (hashes, chain, signatures, state machine); no signed checkpoint yet.",
                report.entries,
            ) % {"n": report.entries})
        else:
            messages.success(request, ngettext(
                "%(n)d entry verified (hash, chain, signature, state machine) and anchored in the signed "
                "checkpoint of %(size)d entries; %(pending)d not yet in a checkpoint.",
                "%(n)d entries verified (hashes, chain, signatures, state machine) and anchored in the signed "
                "checkpoint of %(size)d entries; %(pending)d not yet in a checkpoint.",
                report.entries,
            ) % {"n": report.entries, "size": checkpoint.size, "pending": report.uncheckpointed})
        return redirect("projects:detail", pk=project.pk)
