"""Forms of the workflow screens: they parse input; the services decide.

Business rules (a reason is required, a guard holds, separation of duties) are
checked by the services, whose coded errors ``core.forms.add_service_error`` puts back
on the form, next to the field they concern.
"""

from django import forms
from django.utils.translation import gettext_lazy as _

from workflow.models import ProjectState


class ScreeningForm(forms.Form):
    SCREEN = "screen"
    RETURN = "return"

    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[
            (SCREEN, _("Screen the file against the program's eligibility rules")),
            (RETURN, _("Return the file to the association for documents")),
        ],
        widget=forms.RadioSelect,
        initial=SCREEN,
    )
    note = forms.CharField(
        label=_("Screening note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
    failures = forms.CharField(
        label=_("Reasons found by reading the file (one per line)"),
        help_text=_("Any reason listed here makes the file ineligible, in addition to the program's rules."),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    reason = forms.CharField(
        label=_("Reason for returning the file"),
        help_text=_("Required when the file is returned: say which documents are missing or wrong."),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean_failures(self):
        return [line.strip() for line in self.cleaned_data["failures"].splitlines() if line.strip()]


class TrainingSignoffForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("I confirm the beneficiary attended the mandatory training modules."),
        required=True,
    )


class LaunchForm(forms.Form):
    note = forms.CharField(
        label=_("Launch note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )


class ProjectFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    state = forms.ChoiceField(
        label=_("State"), required=False, choices=[("", _("All states")), *ProjectState.choices]
    )


def _reason_field(label):
    # Optional here: the service requires the reason and its coded error lands on this
    # field, so the rule lives in one place.
    return forms.CharField(
        label=label, required=False, help_text=_("Required. It is signed into the file's history."),
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class WithdrawForm(forms.Form):
    reason = _reason_field(_("The beneficiary's reason for withdrawing"))


class SuspendForm(forms.Form):
    reason = _reason_field(_("Why the file is suspended"))


class ResumeForm(forms.Form):
    note = forms.CharField(
        label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}),
    )


class AssignAgentForm(forms.Form):
    agent = forms.ChoiceField(label=_("Agent"))
    reason = _reason_field(_("Why the file changes hands"))

    def __init__(self, *args, current=None, **kwargs):
        from django.contrib.auth import get_user_model

        from core.roles import Role

        super().__init__(*args, **kwargs)
        agents = (get_user_model().objects.filter(is_active=True, groups__name=Role.ASSOCIATION_AGENT.value)
                  .exclude(pk=current).order_by("last_name", "first_name", "username"))
        self.fields["agent"].choices = [("", "—")] + [(a.pk, a.get_full_name() or a.username) for a in agents]
