"""Forms of a committee's seats: they parse; ``approvals.services.committees`` decides
(who may sit, one chair on any day, the dates), and its coded errors go back on the
field they name."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from approvals.models import CommitteeMember
from approvals.selectors import seatable_users


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.get_full_name() or obj.get_username()


def _date_field(label, *, required=False, help_text=""):
    return forms.DateField(label=label, required=required, help_text=help_text,
                           widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))


class CommitteeCreateForm(forms.Form):
    name = forms.CharField(label=_("Name"), required=False, max_length=200)
    chair = PersonChoiceField(label=_("Chair"), queryset=seatable_users(chairs_only=True),
                              help_text=_("A user holding the committee chair role."))
    active_from = _date_field(_("Active from"), help_text=_("Empty: from today."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["chair"].queryset = seatable_users(chairs_only=True)


class SeatForm(forms.Form):
    user = PersonChoiceField(label=_("Member"), queryset=seatable_users(),
                             help_text=_("An active user holding the committee member or chair role."))
    role = forms.ChoiceField(label=_("Role"), choices=CommitteeMember.Role.choices)
    active_from = _date_field(_("Active from"), help_text=_("Empty: from today."))
    active_to = _date_field(_("Active until"), help_text=_("The last day of the seat. Empty: no end."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = seatable_users()


class EndSeatForm(forms.Form):
    active_to = _date_field(_("Last day of the seat"), required=True)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {"active_to": timezone.localdate()})
        super().__init__(*args, **kwargs)
