"""Forms of the training screens: they parse input; the training services decide.

The module, trainer, hours and attendance rules (a module of the program's plan, a user
with the trainer role, 0–12 hours, only enrolled projects of the session's program) are
checked by ``training.services``, whose coded errors go back on the form.
"""

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from core.roles import Role
from training.models import TrainingModule
from workflow.models import Program


class TrainerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.get_full_name() or obj.get_username()


def trainer_choices():
    return (
        get_user_model().objects.filter(is_active=True, groups__name=Role.TRAINER.value)
        .distinct().order_by("last_name", "first_name", "username")
    )


class SessionFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    program = forms.ModelChoiceField(
        label=_("Program"), required=False, queryset=Program.objects.order_by("-year", "name"),
        empty_label=_("All programs"),
    )
    module = forms.ModelChoiceField(
        label=_("Module"), required=False, queryset=TrainingModule.objects.all(), empty_label=_("All modules"),
    )
    when = forms.ChoiceField(
        label=_("When"), required=False,
        choices=[("", _("Upcoming and past")), ("upcoming", _("Upcoming")), ("past", _("Past"))],
    )


class SessionCreateForm(forms.Form):
    """A new session. A user who may not schedule for others (a trainer) is the trainer:
    the field is left out and the view passes the user."""

    program = forms.ModelChoiceField(label=_("Program"), queryset=Program.objects.order_by("-year", "name"))
    module = forms.ModelChoiceField(
        label=_("Module"), queryset=TrainingModule.objects.filter(active=True),
        help_text=_("A module of the program's training plan."),
    )
    trainer = TrainerChoiceField(label=_("Trainer"), queryset=trainer_choices())
    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    start_time = forms.TimeField(label=_("Start time"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    # Text, not a number field: the service parses hours ("2,5" too) and says what is wrong.
    hours = forms.CharField(label=_("Hours"), max_length=10, help_text=_("Between 0 and 12, e.g. 3 or 2.5."))
    place = forms.CharField(label=_("Place"), max_length=200)
    notes = forms.CharField(label=_("Notes"), required=False, max_length=2000,
                            widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, choose_trainer=True, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["trainer"].queryset = trainer_choices()
        if not choose_trainer:
            del self.fields["trainer"]


class IdListField(forms.Field):
    """Several positive integers under one name (``?projects=3&projects=7``)."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {"invalid": _("Unknown project: %(value)s.")}

    def to_python(self, value):
        if not value:
            return []
        if not isinstance(value, (list, tuple)):
            value = [value]
        ids = []
        for item in value:
            try:
                number = int(str(item).strip())
            except (TypeError, ValueError):
                number = 0
            if number <= 0:
                raise forms.ValidationError(self.error_messages["invalid"], code="invalid", params={"value": item})
            ids.append(number)
        return list(dict.fromkeys(ids))


class GroupAttendanceForm(forms.Form):
    """The whole group of a session in one submit: ``projects`` lists every project on
    the form, ``present`` those ticked present; every other listed project is absent."""

    projects = IdListField(label=_("Beneficiaries"), required=True,
                           error_messages={"required": _("There is nobody to mark on this form.")})
    present = IdListField(label=_("Present"), required=False, widget=forms.CheckboxSelectMultiple)

    def clean(self):
        data = super().clean()
        listed, present = data.get("projects"), data.get("present") or []
        if listed is not None and not set(present) <= set(listed):
            raise forms.ValidationError(_("A beneficiary marked present is not on the form."), code="unlisted")
        return data

    def attendance(self) -> dict:
        """{project_id: present} for the service."""
        present = set(self.cleaned_data["present"] or [])
        return {project_id: project_id in present for project_id in self.cleaned_data["projects"]}


class ProgressProgramForm(forms.Form):
    program = forms.ModelChoiceField(
        label=_("Program"), queryset=Program.objects.order_by("-year", "name"), empty_label=_("Choose a program"),
    )


class PlanModuleForm(forms.Form):
    """One module of a program's plan; ``program_module_set`` checks the module (an
    active one, to be added) and the hours."""

    module = forms.ModelChoiceField(label=_("Module"), queryset=TrainingModule.objects.order_by("name_fr"))
    # Text, not a number field: the service parses hours ("2,5" too) and says what is wrong.
    planned_hours = forms.CharField(label=_("Planned hours"), required=False, max_length=10,
                                    help_text=_("e.g. 20 or 12.5"))
    mandatory = forms.BooleanField(label=_("Mandatory"), required=False)
