"""The inbox: every open task I can take, across files, sessions, orders and
disbursements, each linked to the screen where it is done, 25 at a time (keyset
pages: ``core.pagination``). Its filters are bounded whatever the queue: the kinds of
task (one per step of the flows) and the programs, never one option per file."""

from django import forms
from django.contrib.auth.mixins import LoginRequiredMixin
from django.utils.translation import gettext_lazy as _
from django.views import generic

from core.pagination import keyset_page
from workflow import inbox
from workflow.models import Program

PAGE_SIZE = 25
FILTERS = ("kind", "program")


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
        segments = inbox.inbox_segments(self.request.user, kind=kind, program_id=program.pk if program else None)
        page = keyset_page(segments, self.request.GET, keys=inbox.KEYS, size=PAGE_SIZE)
        rows = inbox.with_links(inbox.describe(page.rows), self.request.get_full_path())
        filtered = any(self.request.GET.get(name) for name in FILTERS)
        return super().get_context_data(form=form, page=page, rows=rows, filtered=filtered, **kwargs)
