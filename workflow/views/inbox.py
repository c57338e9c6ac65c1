"""The inbox: every open task I can take, across files, sessions, orders and
disbursements, each linked to the screen where it is done."""

from urllib.parse import urlencode

from django import forms
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.paginator import Paginator
from django.utils.translation import gettext_lazy as _
from django.views import generic

from workflow import inbox
from workflow.models import Program

PAGE_SIZE = 25


def with_next(url: str, back: str) -> str:
    """``url`` with ``?next=back`` added to the query it may already carry (the funding
    tray's screen is searched for its disbursement: ``/funding/?q=...``)."""
    return f"{url}{'&' if '?' in url else '?'}{urlencode({'next': back})}"


class InboxFilterForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind of task"), required=False)
    program = forms.ModelChoiceField(label=_("Program"), required=False, queryset=Program.objects.none(),
                                     empty_label=_("All programs"))

    def __init__(self, *args, kinds, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", _("All kinds")), *((k.key, k.label) for k in kinds)]
        self.fields["program"].queryset = Program.objects.order_by("-year", "name")


class InboxView(LoginRequiredMixin, generic.TemplateView):
    template_name = "workflow/inbox.html"

    def get_context_data(self, **kwargs):
        kinds = inbox.kinds()
        form = InboxFilterForm(self.request.GET or None, kinds=kinds)
        kind = program = None
        if form.is_valid():
            kind = inbox.kind_of(form.cleaned_data["kind"])
            program = form.cleaned_data["program"]
        tasks = inbox.inbox_tasks(self.request.user, kind=kind, program_id=program.pk if program else None)
        page = Paginator(tasks, PAGE_SIZE).get_page(self.request.GET.get("page"))
        rows = inbox.describe(page.object_list)
        back = self.request.get_full_path()
        for task in rows:
            task.open_url = with_next(task.screen_url, back) if task.screen_url else ""
        filters = {key: value for key, value in self.request.GET.items() if key != "page" and value}
        return super().get_context_data(
            form=form, page=page, rows=rows, filtered=bool(filters), query=urlencode(filters), **kwargs
        )
