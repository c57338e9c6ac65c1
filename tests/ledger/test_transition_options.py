"""``ledger.transitions.transition_options``: which transitions of a machine a user may
take now, and why not — without taking any. Exercised on the grant project's machine."""

import pytest

from core.exceptions import GuardFailed, PermissionDenied
from demo.scenarios import attach_required_documents
from ledger.models import AuditEntry
from ledger.transitions import transition_options
from workflow.models import GrantProject, Program

pytestmark = pytest.mark.django_db

NAMES = ["submit", "screen_ok", "enrol", "resume", "withdraw", "suspend", "schedule"]


def fresh(project):
    return GrantProject.objects.select_related("program", "beneficiary").get(pk=project.pk)


def test_transitions_that_do_not_leave_the_state_are_left_out(cast, make_project):
    draft = make_project("draft")
    attach_required_documents(draft, cast.agent)
    assert transition_options(fresh(draft), cast.agent, NAMES).keys() == {"submit", "withdraw", "suspend"}


def test_what_the_user_may_take_now_is_an_empty_reason(cast, make_project):
    draft = make_project("draft")
    attach_required_documents(draft, cast.agent)
    options = transition_options(fresh(draft), cast.agent, ["submit", "withdraw"])
    assert options == {"submit": "", "withdraw": ""}


def test_another_roles_transition_is_permission_denied(cast, make_project):
    draft = make_project("draft")
    attach_required_documents(draft, cast.agent)
    options = transition_options(fresh(draft), cast.officer, ["submit", "suspend"])
    assert isinstance(options["submit"], PermissionDenied) and options["submit"].code == "permission_denied"
    assert options["suspend"] == ""


def test_an_inactive_user_may_take_nothing(cast, make_project):
    draft = make_project("draft")
    cast.officer.is_active = False
    options = transition_options(fresh(draft), cast.officer, ["suspend", "withdraw"])
    assert all(isinstance(error, PermissionDenied) for error in options.values()), options


def test_unmet_conditions_are_guard_failed_with_every_message(cast, make_project):
    draft = make_project("draft")  # no document yet
    Program.objects.filter(pk=draft.program_id).update(project_ceiling="50000.00")  # below the 60,000 asked
    project = fresh(draft)
    before = (project.state, AuditEntry.objects.for_entity(project).count())

    error = transition_options(project, cast.agent, ["submit"])["submit"]

    assert isinstance(error, GuardFailed) and error.code == "guard_failed"
    codes = [code for code, _message in error.failures]
    assert codes == ["documents_missing", "amount_over_ceiling"]
    messages = dict(error.failures)
    assert messages["documents_missing"].startswith("Missing documents: copy of the national ID card")
    assert messages["amount_over_ceiling"] == "The requested amount exceeds the program's ceiling per project."
    assert error.params["failures"] == codes
    assert (fresh(draft).state, AuditEntry.objects.for_entity(project).count()) == before


def test_fact_guards_are_checked_only_with_the_facts_handed_in(cast, make_project):
    eligible = fresh(make_project("eligible"))
    # Without facts, a fact its owner hands in only when it moves the file is assumed to hold.
    assert transition_options(eligible, cast.officer, ["schedule"]) == {"schedule": ""}
    # With facts, a missing one refuses with its guard's code.
    error = transition_options(eligible, cast.officer, ["schedule"], facts={})["schedule"]
    assert isinstance(error, GuardFailed)
    assert [code for code, _message in error.failures] == ["not_on_agenda"]
