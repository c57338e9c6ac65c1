"""The program's committees, as a section of the program's page (workflow's
``program_sections``, registered in ``ApprovalsConfig.ready``)."""

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from approvals.models import Committee, CommitteeMember
from core.actions import Action
from workflow.program_sections import ProgramSection


def committees_section(program, user) -> ProgramSection | None:
    """The program's committees, each with its chair and how many seats are held today;
    for program officers, the way to create one."""
    if not user.has_perm("approvals.view_committee"):
        return None
    today = timezone.localdate()
    rows = []
    for committee in Committee.objects.filter(program=program).order_by("name", "pk"):
        seats = list(CommitteeMember.objects.filter(committee=committee).seated_on(today).select_related("user"))
        rows.append({
            "committee": committee, "url": reverse("committees:committee", args=[committee.pk]),
            "chairs": [seat for seat in seats if seat.role == CommitteeMember.Role.CHAIR], "seated": len(seats),
        })
    actions = ()
    if user.has_perm("approvals.add_committee"):
        actions = (Action("committee_create", gettext("New committee"),
                          reverse("committees:committee_create", args=[program.pk])),)
    return ProgramSection(key="committees", title=gettext("Committees"),
                          template_name="approvals/includes/program_committees.html",
                          context={"rows": rows}, actions=actions, order=10)
