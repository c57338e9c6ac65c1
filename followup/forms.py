"""Forms of the follow-up screens: they parse input; the follow-up services decide.

Every rule of a visit report (dates, amounts, the stopped reason, channels) and of a
closure (outcome, abandonment reason, equipment recovery) is checked by
``followup.services`` / ``project_close``, whose coded errors go back on the
form, field by field.
"""

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from core.forms import UploadField
from core.roles import Role
from followup.models import IncomeControl, LegalStatus, Recommendation, SalesChannel
from workflow.models import Outcome, Program

YES_NO = [("yes", _("Yes")), ("no", _("No"))]


def mentor_choices():
    return (
        get_user_model().objects.filter(is_active=True, groups__name=Role.MENTOR.value)
        .distinct().order_by("last_name", "first_name", "username")
    )


class MentorChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.get_full_name() or obj.get_username()


class VisitFilterForm(forms.Form):
    when = forms.ChoiceField(
        label=_("Visits"), required=False,
        choices=[("", _("All")), ("due", _("Due")), ("upcoming", _("Upcoming")),
                 ("reported", _("Reported")), ("cancelled", _("Cancelled"))],
    )
    program = forms.ModelChoiceField(
        label=_("Program"), required=False, queryset=Program.objects.order_by("-year", "name"),
        empty_label=_("All programs"),
    )
    q = forms.CharField(label=_("Search"), required=False, max_length=100,
                        help_text=_("Reference, title or beneficiary's name."))


class AtRiskFilterForm(forms.Form):
    program = forms.ModelChoiceField(
        label=_("Program"), required=False, queryset=Program.objects.order_by("-year", "name"),
        empty_label=_("All programs"),
    )
    q = forms.CharField(label=_("Search"), required=False, max_length=100)


class VisitReportForm(forms.Form):
    visited_on = forms.DateField(
        label=_("Date of the visit"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    activity_running = forms.ChoiceField(label=_("Is the activity running?"), choices=YES_NO,
                                         widget=forms.RadioSelect)
    stopped_reason = forms.CharField(
        label=_("If not, why?"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}),
    )
    # Text, not number fields: the service parses amounts ("4 500,50" too) and says what is wrong.
    monthly_revenue = forms.CharField(label=_("Monthly revenue (MAD)"), max_length=20)
    monthly_profit = forms.CharField(label=_("Monthly profit (MAD)"), max_length=20,
                                     help_text=_("Negative for a loss."))
    jobs_created = forms.CharField(label=_("Jobs created (besides the beneficiary)"), max_length=4, initial="0")
    equipment_present = forms.ChoiceField(label=_("Is the equipment present?"), choices=YES_NO,
                                          widget=forms.RadioSelect)
    equipment_in_use = forms.ChoiceField(label=_("Is the equipment in use?"), choices=YES_NO,
                                         widget=forms.RadioSelect)
    legal_status = forms.ChoiceField(label=_("Legal registration"),
                                     choices=[("", "—"), *LegalStatus.choices])
    sales_channels = forms.MultipleChoiceField(
        label=_("Sales channels"), required=False, choices=SalesChannel.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    income_control = forms.ChoiceField(label=_("Who controls the income?"), choices=IncomeControl.choices)
    debts = forms.CharField(label=_("Outstanding debts (MAD)"), max_length=20, required=False, initial="0")
    difficulties = forms.CharField(label=_("Difficulties"), required=False, max_length=2000,
                                   widget=forms.Textarea(attrs={"rows": 3}))
    recommendation = forms.ChoiceField(label=_("Recommendation"),
                                       choices=[("", "—"), *Recommendation.choices])
    attachment = UploadField(label=_("Photo or document (optional)"), required=False,
                             help_text=_("A PDF, JPEG or PNG file. The photo's location and other "
                                         "metadata are removed."))

    def service_data(self) -> dict:
        """The cleaned values in the service's terms."""
        data = dict(self.cleaned_data)
        for name in ("activity_running", "equipment_present", "equipment_in_use"):
            data[name] = data[name] == "yes"
        data["attachment"] = data.get("attachment") or None
        return data


class MentorAssignForm(forms.Form):
    mentor = MentorChoiceField(label=_("Mentor"), queryset=mentor_choices())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["mentor"].queryset = mentor_choices()


class CloseForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=Outcome.choices, widget=forms.RadioSelect)
    reason = forms.CharField(
        label=_("Reason"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required when the project is abandoned."),
    )
    recovered_items = forms.CharField(
        label=_("Recovered equipment"), required=False, max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}), help_text=_("Only for an abandoned project."),
    )
    recovered_value = forms.CharField(label=_("Value recovered (MAD)"), required=False, max_length=20)
    recovery_note = forms.CharField(label=_("Note on the recovery"), required=False, max_length=2000,
                                    widget=forms.Textarea(attrs={"rows": 2}))
    confirm = forms.BooleanField(
        label=_("I understand that closing is final: the project cannot be reopened."),
        error_messages={"required": _("Tick the box to confirm the closure.")},
    )

    def recovery(self):
        data = self.cleaned_data
        return {"items": data.get("recovered_items"), "value": data.get("recovered_value"),
                "note": data.get("recovery_note")}
