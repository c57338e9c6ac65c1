"""Forms of the committee screens: they parse input; the approvals services decide.

Business rules (a reason is required, a score is 0 to 5, the amount is within the
ceiling, the password is right) are checked by the services, whose coded errors
``core.forms.add_service_error`` puts back on these forms, next to the field they
name. So fields a rule governs are lenient here (``required=False``, plain text):
the rule lives in one place and its message is the service's.
"""

from django import forms
from django.utils.translation import gettext_lazy as _

from approvals.models import Committee, SessionState, Vote
from twofactor.stepup import add_second_factor

DATETIME_INPUT = "%Y-%m-%dT%H:%M"


class SessionFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    state = forms.ChoiceField(
        label=_("State"), required=False, choices=[("", _("All states")), *SessionState.choices]
    )
    committee = forms.ModelChoiceField(
        label=_("Committee"), required=False, empty_label=_("All committees"),
        queryset=Committee.objects.select_related("program").order_by("-program__year", "name"),
    )


class SessionCreateForm(forms.Form):
    committee = forms.ModelChoiceField(
        label=_("Committee"), queryset=Committee.objects.select_related("program"), empty_label=None
    )
    title = forms.CharField(label=_("Title"), required=False, max_length=200)
    scheduled_for = forms.DateTimeField(
        label=_("Date and time"),
        required=False,
        input_formats=[DATETIME_INPUT, "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%d/%m/%Y %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_INPUT),
    )
    location = forms.CharField(label=_("Place"), required=False, max_length=200)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["committee"].label_from_instance = lambda c: f"{c.name} — {c.program}"


class EligibleSearchForm(forms.Form):
    q = forms.CharField(label=_("Search eligible files"), required=False, max_length=100)


class AgendaAddForm(forms.Form):
    project = forms.IntegerField(widget=forms.HiddenInput)


class AgendaRemoveForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for taking the file off the agenda"),
        help_text=_("Required. The file goes back to the eligible files; the reason is kept in its history."),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class AttendanceForm(forms.Form):
    present = forms.MultipleChoiceField(
        label=_("Members present"), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, members=(), **kwargs):
        """``members``: the committee's active seats (``CommitteeMember``)."""
        super().__init__(*args, **kwargs)
        self.fields["present"].choices = [
            (str(seat.user_id), f"{seat.user.get_full_name() or seat.user.username} ({seat.get_role_display()})")
            for seat in members
        ]


class DeclarationForm(forms.Form):
    NONE = "none"
    CONFLICT = "conflict"

    has_conflict = forms.ChoiceField(
        label=_("Conflict of interest"),
        choices=[
            (NONE, _("I have no conflict of interest with this file")),
            (CONFLICT, _("I have a conflict of interest: recuse me from this file (final)")),
        ],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(label=_("Note (e.g. the nature of the link)"), required=False, max_length=500)

    def clean_has_conflict(self):
        return self.cleaned_data["has_conflict"] == self.CONFLICT


class VoteForm(forms.Form):
    """The vote, one score per criterion of the program (``score_<code>``, the names
    the voting service gives its errors) and a comment."""

    choice = forms.ChoiceField(label=_("Your vote"), choices=Vote.Choice.choices, widget=forms.RadioSelect)
    comment = forms.CharField(
        label=_("Comment"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, criteria=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.criteria = list(criteria)
        for criterion in self.criteria:
            # Plain text: the service says what a valid score is (a whole number, 0 to 5).
            self.fields[self.score_field(criterion)] = forms.CharField(
                label=criterion.name, required=False, max_length=3,
                widget=forms.NumberInput(attrs={"min": 0, "max": 5, "step": 1}),
            )

    @staticmethod
    def score_field(criterion) -> str:
        return f"score_{criterion.code}"

    def score_fields(self):
        return [self[self.score_field(criterion)] for criterion in self.criteria]

    def scores(self) -> dict:
        return {c.code: self.cleaned_data[self.score_field(c)] for c in self.criteria}


class DecisionForm(forms.Form):
    amount = forms.CharField(
        label=_("Approved amount (MAD)"), required=False, max_length=20,
        help_text=_("At most the requested amount and the program's ceiling."),
    )
    conditions = forms.CharField(
        label=_("Conditions"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    reason = forms.CharField(
        label=_("Reason"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required for a revision request or a rejection."),
    )


class CloseSessionForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("I understand that closing is irreversible: the decisions are applied to the files, "
                "approved amounts are committed and the minutes are generated."),
        required=True,
    )


class MinutesConfirmForm(forms.Form):
    password = forms.CharField(
        label=_("Your password"), required=False, strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text=_("Re-enter your password to confirm that the minutes are a faithful record."),
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        # The member's second factor, when they have one (the step-up asks for it too).
        add_second_factor(self, user)
