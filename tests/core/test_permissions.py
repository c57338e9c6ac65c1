"""Who may move a project: the role × transition table of DESIGN.md §3.

The expected table is written out below from the "who" column of DESIGN.md §3 (and, for
the intake services, from DESIGN.md §1 and their docstrings); it is deliberately not
computed from ``core.roles.ROLE_PERMISSIONS``, so a drift between the role table
and the design fails here. Each role is tried from a state where the transition is
allowed: it either proceeds or gets ``permission_denied`` and changes nothing.

The committee's moves are tried the only way DESIGN.md §3 allows them: ``schedule`` by
putting the file on a planned session's agenda, ``decide_*`` by closing the session
whose chair confirmed the decision (each role is handed the chair's seat first, so that
only the role decides), ``defer`` directly on a file no session holds any more.
"""

from datetime import date

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.files.uploadedfile import SimpleUploadedFile

from approvals import services as committee
from approvals.facts import committee_hold
from approvals.models import CommitteeSession
from core.exceptions import TamkeenError
from core.roles import Role
from demo.scenarios import attach_required_documents, plan_session, receive_equipment, report_followup
from disbursements import services as funding
from disbursements.services import envelope_decommit
from followup import services as followup_services
from ledger.models import AuditEntry
from tests._committee_support import close_as, held_by_no_session, ready_to_close
from tests._scopes import another_agent, in_charge
from tests._uploads import jpeg_bytes
from training import services as training_services
from workflow import services
from workflow.models import ActivitySector, Beneficiary, Commune, Document, GrantProject

REASON = "Motif consigné au dossier."

ROLES = [
    "association_agent", "program_officer", "committee_member", "committee_chair", "trainer",
    "mentor", "finance_officer", "authorizing_officer", "treasurer", "auditor", "admin",
]

# DESIGN.md §3, "who" column, literally. The auditor and the admin appear nowhere.
MAY = {
    "submit": {"association_agent"},
    "return_docs": {"program_officer"},
    "screen": {"program_officer"},
    "schedule": {"program_officer"},
    "defer": {"program_officer", "committee_chair"},
    "decide_approve": {"committee_chair"},
    "decide_revise": {"committee_chair"},
    "decide_reject": {"committee_chair"},
    "resubmit": {"association_agent"},
    "enrol": {"program_officer"},
    "complete_training": {"program_officer"},
    "open_funding": {"finance_officer"},
    "equipment_received": {"program_officer"},
    "launch": {"mentor", "program_officer"},
    "close": {"program_officer"},
    "withdraw": {"association_agent", "program_officer"},
    "suspend": {"program_officer"},
    "resume": {"program_officer"},
    "give_back": {"finance_officer"},  # DESIGN.md §7: the envelope's decommitment
    "assign_agent": {"program_officer"},  # the file given to another association agent
}

# transition → (source state to try it from, target state, service call)
MOVES = {
    "submit": ("draft", "submitted", lambda pid, a: services.project_submit(project_id=pid, actor=a)),
    "return_docs": ("submitted", "draft", lambda pid, a: services.project_return_docs(
        project_id=pid, actor=a, reason=REASON)),
    "screen": ("submitted", "eligible", lambda pid, a: services.project_screen(project_id=pid, actor=a)),
    "schedule": ("eligible", "in_committee", lambda pid, a: committee.session_add_item(
        session_id=_planned_session(pid), project_id=pid, actor=a)),
    "defer": ("in_committee", "eligible", lambda pid, a: services.project_defer(
        project_id=pid, actor=a, reason=REASON, hold=committee_hold(pid))),
    "decide_approve": ("in_committee", "approved", lambda pid, a: close_as(pid, a)),
    "decide_revise": ("in_committee", "revision_requested", lambda pid, a: close_as(pid, a)),
    "decide_reject": ("in_committee", "rejected", lambda pid, a: close_as(pid, a)),
    "resubmit": ("revision_requested", "submitted", lambda pid, a: services.project_resubmit(
        project_id=pid, actor=a)),
    "enrol": ("approved", "in_training", lambda pid, a: services.project_enrol(project_id=pid, actor=a)),
    "complete_training": ("in_training", "trained", lambda pid, a: training_services.project_complete_training(
        project_id=pid, actor=a)),
    "open_funding": ("trained", "funding", lambda pid, a: services.project_open_funding(
        project_id=pid, actor=a)),
    "equipment_received": ("funding", "equipped", lambda pid, a: funding.project_confirm_equipment(
        project_id=pid, actor=a)),
    "launch": ("equipped", "launched", lambda pid, a: followup_services.project_launch(project_id=pid, actor=a)),
    "close": ("launched", "closed", lambda pid, a: followup_services.project_close(
        project_id=pid, actor=a, outcome="success")),
    "withdraw": ("in_committee", "withdrawn", lambda pid, a: services.project_withdraw(
        project_id=pid, actor=a, reason=REASON)),
    "suspend": ("approved", "suspended", lambda pid, a: services.project_suspend(
        project_id=pid, actor=a, reason=REASON)),
    "resume": ("suspended", "draft", lambda pid, a: services.project_resume(project_id=pid, actor=a)),
    "give_back": ("withdrawn", "withdrawn", lambda pid, a: envelope_decommit(
        project_id=pid, actor=a, reason=REASON)),
    "assign_agent": ("draft", "draft", lambda pid, a: services.project_assign_agent(
        project_id=pid, actor=a, agent_id=another_agent(pid), reason=REASON)),
}


# Transitions that keep the state, made by the intake services (table MAY_INTAKE below).
KEEPS_STATE = {"edit": "project_update", "attach_document": "document_attach"}


def test_the_table_names_every_transition_of_the_model():
    screened = {"screen_ok", "screen_fail"}
    assert set(MAY) == set(MOVES) == (
        set(GrantProject.transition_names()) - screened - set(KEEPS_STATE)) | {"screen"}
    assert set(KEEPS_STATE.values()) <= set(MAY_INTAKE)


def _planned_session(pid):
    program_id = GrantProject.objects.values_list("program_id", flat=True).get(pk=pid)
    return CommitteeSession.objects.filter(committee__program_id=program_id, state="planned").latest("pk").pk


# The decision each decide_* source's session confirmed (outcome, amount or reason).
DECISIONS = {"decide_approve": ("approve", "55000.00"), "decide_revise": ("revise", REASON),
             "decide_reject": ("reject", REASON)}


@pytest.fixture
def source_project(make_project, make_user, cast):
    def make(transition):
        project = make_project(MOVES[transition][0])
        if transition == "give_back":  # withdrawn after its approval: a commitment to give back
            project = make_project("approved")
            services.project_withdraw(project_id=project.pk, actor=cast.officer, reason=REASON)
        if transition == "schedule":  # a planned session of the program's committee
            plan_session(project.program, cast)
        if transition == "defer":
            project = held_by_no_session(project, cast)
        if transition in DECISIONS:
            ready_to_close(project, cast, *DECISIONS[transition], voter=make_user(Role.COMMITTEE_MEMBER))
        if transition == "submit":
            attach_required_documents(project, cast.agent)
        if transition == "equipment_received":
            receive_equipment(project.pk, cast)
        if transition == "close":  # the follow-up plan must be finished first
            report_followup(project.pk, cast)
        return project

    return make


def _snapshot(pk):
    project = GrantProject.objects.get(pk=pk)
    return GrantProject.objects.filter(pk=pk).values().get(), AuditEntry.objects.for_entity(project).count()


@pytest.mark.parametrize("transition", list(MOVES))
def test_each_role_may_or_may_not_make_the_transition(transition, source_project, make_user, cast):
    source, target, call = MOVES[transition]
    project = source_project(transition)
    observed = {}
    for role in ROLES:
        # An agent's or a mentor's own file: what is tested here is the role.
        user = in_charge(project.pk, make_user(role), cast.officer)
        before = _snapshot(project.pk)
        try:
            call(project.pk, user)
        except TamkeenError as error:
            observed[role] = error.code
            assert _snapshot(project.pk) == before, f"{role} was refused {transition} but something changed"
        else:
            observed[role] = "done"
            moved = GrantProject.objects.get(pk=project.pk)
            assert moved.state == target
            entry = AuditEntry.objects.for_entity(moved).order_by("seq").last()
            audited_as = "screen_ok" if transition == "screen" else transition
            assert (entry.transition, entry.actor_id, entry.actor_role) == (audited_as, user.pk, role)
            project = source_project(transition)  # a fresh file for the next role

    expected = {role: "done" if role in MAY[transition] else "permission_denied" for role in ROLES}
    assert observed == expected


@pytest.mark.parametrize("transition", list(MOVES))
def test_an_inactive_user_holding_every_role_is_refused(transition, source_project, make_user):
    user = make_user(*ROLES)
    user.is_active = False
    user.save(update_fields=["is_active"])
    project = source_project(transition)
    before = _snapshot(project.pk)

    with pytest.raises(TamkeenError) as caught:
        MOVES[transition][2](project.pk, user)

    assert caught.value.code == "permission_denied"
    assert _snapshot(project.pk) == before


@pytest.mark.parametrize("nobody", [None, AnonymousUser()], ids=["none", "anonymous"])
def test_no_user_at_all_is_refused(nobody, source_project):
    project = source_project("screen")
    with pytest.raises(TamkeenError) as caught:
        services.project_screen(project_id=project.pk, actor=nobody)
    assert caught.value.code == "permission_denied"
    assert GrantProject.objects.get(pk=project.pk).state == "submitted"


# --- Intake services (DESIGN.md §1: the agent enters applications and uploads documents;
# the service docstrings add the officer and the mentor for documents) -------------------

MAY_INTAKE = {
    "beneficiary_create": {"association_agent"},
    "project_create": {"association_agent"},
    "project_update": {"association_agent"},
    "document_attach": {"association_agent", "program_officer", "mentor"},
}


@pytest.fixture
def intake_calls(make_project, program):
    draft = make_project("draft")
    serial = iter(range(10_000))

    def beneficiary_create(user):
        return services.beneficiary_create(
            actor=user, first_name="Nadia", last_name="Bouazza", first_name_ar="نادية",
            last_name_ar="بوعزة", cin=f"ZT{next(serial) + 20000}", phone="0661000000", gender="F",
            birth_date=date(1988, 3, 3), commune=Commune.objects.get(code="zaio"),
            is_woman_in_difficulty=True, consent_given=True, consent_date=date(2025, 2, 1),
        )

    def project_create(user):
        return services.project_create(
            actor=user, program=program, beneficiary=draft.beneficiary, title="Épicerie",
            sector=ActivitySector.objects.get(code="retail"), description="Rayonnages et caisse.",
            requested_amount="40000.00", own_contribution="20000.00",
        )

    def project_update(user):
        return services.project_update(project_id=draft.pk, actor=user, title=f"Titre {next(serial)}")

    def document_attach(user):
        return services.document_attach(
            project_id=draft.pk, actor=user, doc_type="photo",
            uploaded_file=SimpleUploadedFile("p.jpg", jpeg_bytes(next(serial)), "image/jpeg"),
        )

    return {
        "beneficiary_create": beneficiary_create, "project_create": project_create,
        "project_update": project_update, "document_attach": document_attach, "_draft": draft,
    }


def _counts():
    return (
        Beneficiary.objects.count(), GrantProject.objects.count(), Document.objects.count(),
        AuditEntry.objects.count(), list(GrantProject.objects.values_list("title", flat=True)),
    )


@pytest.mark.parametrize("service", list(MAY_INTAKE))
def test_each_role_may_or_may_not_use_the_intake_service(service, intake_calls, make_user, cast):
    observed = {}
    for role in ROLES:
        user = in_charge(intake_calls["_draft"].pk, make_user(role), cast.officer)
        before = _counts()
        try:
            intake_calls[service](user)
        except TamkeenError as error:
            observed[role] = error.code
            assert _counts() == before
        else:
            observed[role] = "done"
    assert observed == {
        role: "done" if role in MAY_INTAKE[service] else "permission_denied" for role in ROLES
    }


def test_the_auditor_changes_nothing_anywhere(make_user, source_project, intake_calls):
    auditor = make_user(Role.AUDITOR)
    for transition, (_source, _target, call) in MOVES.items():
        project = source_project(transition)
        before = _snapshot(project.pk)
        with pytest.raises(TamkeenError) as caught:
            call(project.pk, auditor)
        assert caught.value.code == "permission_denied", transition
        assert _snapshot(project.pk) == before, transition
    before = _counts()
    for service, call in ((s, intake_calls[s]) for s in MAY_INTAKE):
        with pytest.raises(TamkeenError) as caught:
            call(auditor)
        assert caught.value.code == "permission_denied", service
    assert _counts() == before


# --- Separation of duties ---------------------------------------------------------------


@pytest.fixture
def agent_officer(make_user):
    """One person holding both roles: allowed to submit and to screen, never the same file."""
    return make_user(Role.ASSOCIATION_AGENT, Role.PROGRAM_OFFICER, username="agent-officer")


@pytest.mark.parametrize("failures", [(), ("The address is a shop already funded.",)], ids=["ok", "fail"])
def test_whoever_submitted_a_file_cannot_screen_it(failures, make_project, agent_officer, cast):
    project = make_project("draft")
    in_charge(project.pk, agent_officer, cast.officer)
    attach_required_documents(project, agent_officer)
    services.project_submit(project_id=project.pk, actor=agent_officer)
    before = _snapshot(project.pk)

    with pytest.raises(TamkeenError) as caught:
        services.project_screen(project_id=project.pk, actor=agent_officer, failures=failures)

    assert caught.value.code == "separation_of_duties"
    assert _snapshot(project.pk) == before
    # Another officer may.
    services.project_screen(project_id=project.pk, actor=cast.officer, failures=failures)
    assert GrantProject.objects.get(pk=project.pk).state == ("ineligible" if failures else "eligible")


def test_whoever_resubmitted_a_file_cannot_screen_it(make_project, agent_officer, cast):
    project = make_project("revision_requested")
    in_charge(project.pk, agent_officer, cast.officer)
    services.project_resubmit(project_id=project.pk, actor=agent_officer)

    with pytest.raises(TamkeenError) as caught:
        services.project_screen(project_id=project.pk, actor=agent_officer)

    assert caught.value.code == "separation_of_duties"
    assert GrantProject.objects.get(pk=project.pk).state == "submitted"


def test_the_last_submitter_counts_not_an_earlier_one(make_project, agent_officer, cast):
    project = make_project("draft")
    in_charge(project.pk, agent_officer, cast.officer)
    attach_required_documents(project, agent_officer)
    services.project_submit(project_id=project.pk, actor=agent_officer)
    services.project_return_docs(project_id=project.pk, actor=cast.officer, reason=REASON)
    in_charge(project.pk, cast.agent, cast.officer)
    services.project_submit(project_id=project.pk, actor=cast.agent)

    services.project_screen(project_id=project.pk, actor=agent_officer)

    assert GrantProject.objects.get(pk=project.pk).state == "eligible"
