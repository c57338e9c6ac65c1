"""Project list and project detail: read-only pages over the selectors."""

import logging

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import NoReverseMatch, reverse
from django.utils.translation import get_language_bidi, gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views import generic

from core.actions import named
from core.downloads import file_download
from core.exceptions import InvalidInput
from core.pagination import keyset_page
from core.roles import PROJECT_EXPORT_PERMISSION
from ledger import selectors as ledger_selectors
from ledger.services import chain_verify
from workflow import selectors
from workflow.actions import project_actions
from workflow.diagram import lifecycle_diagram
from workflow.eligibility import failure_text
from workflow.forms import ProjectFilterForm
from workflow.models import Beneficiary, Document, GrantProject, Program

# Law 09-08: who read a beneficiary's identifying or health data, and when.
pii_log = logging.getLogger("tamkeen.personal_data")

DECISIONS = frozenset(["decide_approve", "decide_revise", "decide_reject"])


def _document_languages(beneficiary) -> list[str]:
    """The languages of the beneficiary's letters and attestations, hers first."""
    first = beneficiary.document_language
    return sorted(Beneficiary.DocumentLanguage.values, key=lambda language: language != first)


def _document_links(url_name, project, languages):
    """``url_name``'s PDF of ``project`` in each of ``languages`` (language, address), if
    the site serves it."""
    try:
        url = reverse(url_name, args=[project.pk])
    except NoReverseMatch:
        return []
    return [(language, f"{url}?lang={language}") for language in languages]


def _decision_letter_links(project, path, languages):
    """The decision letter in each language once the committee decided."""
    if not path.transitions & DECISIONS:
        return []
    return _document_links("projects:decision_letter", project, languages)


def _attestation_links(path, project, languages):
    """The training attestation in each language once the training is signed off."""
    if "complete_training" not in path.transitions:
        return []
    return _document_links("training:attestation", project, languages)


def _timeline_before(params):
    """The ``?before=SEQ`` of a page of older history entries: (the sequence number or
    None for the newest page, the error when it is not a sequence number)."""
    raw = params.get("before")
    if raw is None or raw == "":
        return None, None
    try:
        before = int(raw)
    except (TypeError, ValueError):
        before = 0
    if before < 1 or before > 2**31:
        return None, InvalidInput(
            gettext("“%(value)s” is not a position in the file's history: the newest entries are shown.")
            % {"value": raw[:40]},
            field_errors={"before": [gettext("Give the sequence number of an entry.")]},
        )
    return before, None


class ProjectListFilterForm(ProjectFilterForm):
    program = forms.ModelChoiceField(
        label=_("Program"), queryset=Program.objects.order_by("-year", "name"), required=False,
        empty_label=_("All programs"),
    )


def filter_projects(params, *, pages=False):
    """The project list's search and filters (also used by its CSV export): returns the
    bound form and the matching projects (all of them when the filters are not valid);
    ``pages``: as the list's keyset pages read them (``selectors.project_list_pages``)."""
    form = ProjectListFilterForm(params or None)
    select = selectors.project_list_pages if pages else selectors.project_list
    if not form.is_valid():
        return form, select()
    data = form.cleaned_data
    program = data["program"]
    return form, select(search=data["q"], state=data["state"], program_id=program.pk if program else None)


class ProjectListView(PermissionRequiredMixin, generic.TemplateView):
    """The projects, newest first, 20 at a time on a keyset (``core.pagination``): the
    hundredth page costs what the first does, and no count of the whole list."""

    permission_required = "workflow.view_grantproject"
    template_name = "workflow/project_list.html"
    page_size = 20
    title = _("Projects")

    def get_context_data(self, **kwargs):
        filter_form, projects = filter_projects(self.request.GET, pages=True)
        page = keyset_page(projects, self.request.GET, keys=selectors.PROJECT_LIST_KEYS, size=self.page_size)
        return super().get_context_data(
            filter_form=filter_form, page=page, projects=page.rows, page_query=page.first_query,
            can_export=self.request.user.has_perm(PROJECT_EXPORT_PERMISSION), **kwargs,
        )


def _actions_and_submission(project, user):
    """The file's actions, with the submission apart when it may be taken now: its panel
    carries the confirmation and what screening would find (a screened file that fails
    is ineligible for good; missing documents are listed by the intake panel). Returns
    (the other actions, the submission or None, the warnings)."""
    actions = project_actions(project, user)
    submit_action = named(actions, "submit")
    if submit_action is None or not submit_action.available:
        return actions, None, []
    warnings = [failure for failure in selectors.project_eligibility_preview(project)
                if failure.code != "documents"]
    return [action for action in actions if action is not submit_action], submit_action, warnings


class ProjectDetailView(PermissionRequiredMixin, generic.TemplateView):
    """The file: its summary, documents, lifecycle, and one page of its history (the
    newest entries; ``?before=SEQ`` for older ones) with the chain's stored verification
    and the check of the entries shown. A constant number of queries and a bounded page
    whatever the length of the history."""

    permission_required = "workflow.view_grantproject"
    template_name = "workflow/project_detail.html"

    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        if response.context_data.get("timeline_error") is not None:
            response.status_code = 400  # a malformed ?before=: said on the page, the newest entries shown
        return response

    def get_context_data(self, **kwargs):
        try:
            project = selectors.project_detail(self.kwargs["pk"])
        except GrantProject.DoesNotExist:
            raise Http404(_("No such project.")) from None
        process, open_tasks = selectors.project_process(project)
        user = self.request.user
        show_sensitive = selectors.can_view_sensitive(user)
        if show_sensitive:
            pii_log.info("user %s (id %s) read the personal data of beneficiary %s on project %s",
                         user.get_username(), user.pk, project.beneficiary_id, project.pk)
        actions, submit_action, submit_warnings = _actions_and_submission(project, user)
        before, timeline_error = _timeline_before(self.request.GET)
        history = selectors.project_timeline(project, before=before)
        timeline = history.entries
        # What the ledger says of the project's chain: its stored whole-chain verification,
        # and the check of the entries shown; each entry shows its own problems.
        verification = ledger_selectors.chain_status(project, history.rows, previous=history.previous,
                                                     newest=history.newest)
        for entry in timeline:
            entry.problems = verification.messages_for(entry.entry_id)
            entry.verified = verification.is_verified(entry.seq)
        path = selectors.project_path(project)
        stored = list(selectors.project_documents(project))
        seals = selectors.document_seals(path, stored)
        documents = [
            (document, show_sensitive or document.doc_type not in selectors.SENSITIVE_DOCUMENT_TYPES,
             seals[document.pk])
            for document in stored
        ]
        languages = _document_languages(project.beneficiary)
        return super().get_context_data(
            project=project,
            beneficiary=project.beneficiary,
            show_sensitive=show_sensitive,
            documents=documents,
            submit_warnings=submit_warnings,
            documents_differ=[document for document, _visible, seal in documents if seal.status == "differs"],
            can_download=user.has_perm("workflow.view_document"),
            timeline=timeline,
            history=history,
            timeline_error=timeline_error,
            # Each failed rule in the reader's language (codes and msgids since issue 15).
            eligibility_failures=[failure_text(failure) for failure in project.eligibility_failures or []],
            verification=verification,
            can_verify=user.has_perm("ledger.verify_ledger"),
            diagram=lifecycle_diagram(current=project.state, visited=set(path.states), rtl=get_language_bidi()),
            decision_letters=_decision_letter_links(project, path, languages),
            attestations=_attestation_links(path, project, languages),
            process=process,
            open_tasks=open_tasks,
            actions=actions,
            submit_action=submit_action,
            **kwargs,
        )


class DocumentDownloadView(PermissionRequiredMixin, generic.View):
    """A project's document, to those who may read documents; a document carrying the
    CIN or the disability only to those who may see that data (and the read is logged).
    Always as a download, typed by its content (``core.downloads``)."""

    permission_required = ("workflow.view_grantproject", "workflow.view_document")

    def get(self, request, pk, document_pk):
        document = get_object_or_404(Document.objects.select_related("project"), pk=document_pk, project_id=pk)
        if document.doc_type in selectors.SENSITIVE_DOCUMENT_TYPES:
            if not selectors.can_view_sensitive(request.user):
                raise PermissionDenied(gettext("This document holds restricted personal data."))
            pii_log.info("user %s (id %s) downloaded document %s (%s) of project %s",
                         request.user.get_username(), request.user.pk, document.pk, document.doc_type, pk)
        try:
            handle = document.file.open("rb")
        except (FileNotFoundError, ValueError):
            raise Http404(_("The file of this document is missing.")) from None
        return file_download(handle, filename=document.original_name)


class ProjectVerifyView(PermissionRequiredMixin, generic.View):
    """Auditors only: verify the project's whole chain now, anchored in the latest signed
    checkpoint, store the result (the file page shows it until the next verification)
    and say it on the project page."""

    permission_required = "ledger.verify_ledger"
    http_method_names = ["post"]

    def post(self, request, pk):
        project = get_object_or_404(GrantProject, pk=pk)
        verified = chain_verify(project, actor=request.user)
        report, checkpoint = verified.report, verified.checkpoint
        for problem in selectors.document_file_problems(project):
            messages.error(request, gettext("Document NOT intact: %(problem)s") % {"problem": problem})
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
        if report.signatures_known:
            messages.info(request, ngettext(
                "Signatures: %(checked)d checked now; %(known)d unchanged since this chain's previous verification "
                "(this server's seal of it matches), not checked again.",
                "Signatures: %(checked)d checked now; %(known)d unchanged since this chain's previous verification "
                "(this server's seal of them matches), not checked again.",
                report.signatures_known,
            ) % {"checked": report.signatures_checked, "known": report.signatures_known})
        return redirect("projects:detail", pk=project.pk)
