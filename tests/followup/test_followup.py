"""Post-launch follow-up (issue 6, items 1–4): the plan made at launch from the program's
offsets, the mentor's visit reports, the at-risk rules and the closure outcomes. Every
refused call is checked to change nothing."""

import hashlib
from datetime import date, timedelta
from decimal import Decimal

import pytest
from dateutil.relativedelta import relativedelta
from django.utils import timezone

from core.exceptions import TamkeenError
from core.roles import Role
from demo.scenarios import STABLE_VISIT, report_followup
from followup import selectors as followup_selectors
from followup import services as followup_services
from followup.models import EquipmentRecovery, FollowUpPlan, FollowUpVisit, VisitReport
from followup.plan import due_dates, followup_complete
from ledger.machines import definitions
from ledger.models import AuditEntry
from tests._uploads import jpeg_upload
from workflow import services
from workflow.models import GrantProject

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate


@pytest.fixture
def launched(make_project):
    return make_project("launched")


def visits_of(project):
    return list(FollowUpVisit.objects.filter(project=project).order_by("sequence"))


def report(visit, actor, **overrides):
    return followup_services.visit_report(visit_id=visit.pk, actor=actor,
                                 **{"visited_on": TODAY(), **STABLE_VISIT, **overrides})


def snapshot(project):
    return (
        list(FollowUpVisit.objects.filter(project=project).order_by("pk").values()),
        list(VisitReport.objects.filter(visit__project=project).order_by("pk").values()),
        GrantProject.objects.filter(pk=project.pk).values().get(),
        list(FollowUpPlan.objects.filter(project=project).values()),
        AuditEntry.objects.count(),
    )


def refused(call, project):
    before = snapshot(project)
    with pytest.raises(TamkeenError) as caught:
        call()
    assert snapshot(project) == before, "a refused call changed something"
    return caught.value


# --- The plan ------------------------------------------------------------------------------


def test_launching_makes_the_plan_from_the_program_offsets_assigned_to_the_mentor(launched, cast):
    plan = FollowUpPlan.objects.get(project=launched)
    assert plan.launched_on == TODAY()
    assert plan.offsets == [3, 6, 12, 24]
    visits = visits_of(launched)
    assert [(v.sequence, v.offset_months, v.due_on, v.mentor_id, v.state, v.reported_at) for v in visits] == [
        (i, m, TODAY() + relativedelta(months=m), cast.mentor.pk, "planned", None)
        for i, m in enumerate([3, 6, 12, 24], start=1)
    ]
    assert GrantProject.objects.get(pk=launched.pk).mentor_id == cast.mentor.pk
    # Each visit's audit chain opens with its creation, by the launcher.
    for visit in visits:
        entries = list(AuditEntry.objects.for_entity(visit).order_by("seq"))
        assert [(e.transition, e.from_state, e.to_state, e.actor_id) for e in entries] == [
            ("create", "", "planned", cast.mentor.pk)
        ]


def test_the_plan_follows_the_program_offsets(make_project, program):
    program.followup_offsets = [12, 2, 6, 6]
    program.save()
    project = make_project("launched")
    assert [(v.sequence, v.offset_months) for v in visits_of(project)] == [(1, 2), (2, 6), (3, 12)]


def test_month_end_launches_keep_the_month_end():
    assert [d for _s, _m, d in due_dates(date(2025, 11, 30), [3, 6])] == [date(2026, 2, 28), date(2026, 5, 30)]


def test_making_the_plan_twice_creates_nothing(launched, cast):
    before = snapshot(launched)
    plan = followup_services.followup_plan_create(project_id=launched.pk, actor=cast.officer)
    assert plan == FollowUpPlan.objects.get(project=launched)
    assert snapshot(launched) == before
    assert FollowUpVisit.objects.filter(project=launched).count() == 4


def test_a_plan_is_made_for_a_launched_project_only(make_project, cast):
    project = make_project("equipped")
    error = refused(lambda: followup_services.followup_plan_create(project_id=project.pk, actor=cast.officer), project)
    assert error.code == "transition_not_allowed"
    assert not FollowUpPlan.objects.filter(project=project).exists()


def test_an_officer_launch_leaves_the_visits_unassigned_until_a_mentor_is_assigned(make_project, cast, make_user):
    project = make_project("equipped")
    followup_services.project_launch(project_id=project.pk, actor=cast.officer)
    assert {v.mentor_id for v in visits_of(project)} == {None}
    other = make_user(Role.MENTOR)
    followup_services.project_assign_mentor(project_id=project.pk, actor=cast.officer, mentor_id=other.pk)
    assert {v.mentor_id for v in visits_of(project)} == {other.pk}
    assert GrantProject.objects.get(pk=project.pk).mentor_id == other.pk


def test_only_an_officer_assigns_a_mentor_and_only_a_mentor_is_assignable(launched, cast, make_user):
    error = refused(lambda: followup_services.project_assign_mentor(
        project_id=launched.pk, actor=cast.mentor, mentor_id=cast.mentor.pk), launched)
    assert error.code == "permission_denied"
    error = refused(lambda: followup_services.project_assign_mentor(
        project_id=launched.pk, actor=cast.officer, mentor_id=cast.agent.pk), launched)
    assert (error.code, list(error.field_errors)) == ("invalid_input", ["mentor"])


def test_reassigning_moves_only_the_visits_not_yet_reported(launched, cast, make_user):
    first = visits_of(launched)[0]
    report(first, cast.mentor)
    other = make_user(Role.MENTOR)
    followup_services.project_assign_mentor(project_id=launched.pk, actor=cast.officer, mentor_id=other.pk)
    assert [v.mentor_id for v in visits_of(launched)] == [cast.mentor.pk, other.pk, other.pk, other.pk]


# --- Visit reports -------------------------------------------------------------------------


def test_the_assigned_mentor_reports_a_visit_audited_once(launched, cast):
    visit = visits_of(launched)[0]
    photo = jpeg_upload(name="atelier.jpg")
    saved = report(visit, cast.mentor, monthly_revenue="5200,50", monthly_profit="-150.00", jobs_created="2",
                   sales_channels=["souk", "social_media"], difficulties="Fournisseur de tissu en retard.",
                   attachment=photo)
    visit = FollowUpVisit.objects.get(pk=visit.pk)
    assert (visit.state, visit.reported_at) == ("reported", saved.reported_at)
    assert (saved.monthly_revenue, saved.monthly_profit, saved.jobs_created) == (
        Decimal("5200.50"), Decimal("-150.00"), 2)
    assert saved.sales_channels == ["souk", "social_media"]
    assert saved.risk_reasons == []
    # The photo is stored re-encoded: the fingerprint is the stored file's.
    with saved.attachment.open("rb") as stored:
        assert saved.attachment_sha256 == hashlib.sha256(stored.read()).hexdigest()
    entry = AuditEntry.objects.for_entity(visit).order_by("seq").last()
    assert (entry.seq, entry.transition, entry.from_state, entry.to_state, entry.actor_id) == (
        2, "report_visit", "planned", "reported", cast.mentor.pk)
    assert entry.payload["monthly_revenue"] == "5200.50"
    assert entry.payload["risk_reasons"] == []
    assert entry.payload["attachment_sha256"] == saved.attachment_sha256

    error = refused(lambda: report(visit, cast.mentor), launched)
    assert error.code == "visit_already_reported"


def test_only_the_assigned_mentor_reports(launched, cast, make_user):
    visit = visits_of(launched)[0]
    other_mentor = make_user(Role.MENTOR)
    assert refused(lambda: report(visit, other_mentor), launched).code == "not_assigned_mentor"
    # An officer does not report on the mentor's behalf (no permission at all).
    assert refused(lambda: report(visit, cast.officer), launched).code == "permission_denied"


@pytest.mark.parametrize(("overrides", "fields"), [
    ({"monthly_revenue": "-1"}, ["monthly_revenue"]),
    ({"monthly_revenue": "abc", "monthly_profit": "1.234"}, ["monthly_revenue", "monthly_profit"]),
    ({"monthly_profit": "9000.00"}, ["monthly_profit"]),  # more than the revenue
    ({"activity_running": False, "stopped_reason": "  "}, ["stopped_reason"]),
    ({"equipment_present": False, "equipment_in_use": True}, ["equipment_in_use"]),
    ({"legal_status": "sarl"}, ["legal_status"]),
    ({"sales_channels": ["souk", "teleport"]}, ["sales_channels"]),
    ({"sales_channels": []}, ["sales_channels"]),  # running, but sold nowhere
    ({"recommendation": ""}, ["recommendation"]),
    ({"jobs_created": "-2"}, ["jobs_created"]),
    ({"visited_on": "2025-02-30"}, ["visited_on"]),
    ({"activity_running": "maybe"}, ["activity_running"]),
    ({"debts": "-5"}, ["debts"]),
    ({"income_control": "neighbour"}, ["income_control"]),
])
def test_bad_reports_are_refused_field_by_field(overrides, fields, launched, cast):
    visit = visits_of(launched)[0]
    error = refused(lambda: report(visit, cast.mentor, **overrides), launched)
    assert (error.code, sorted(error.field_errors)) == ("invalid_input", sorted(fields))


def test_the_visit_date_is_neither_in_the_future_nor_before_the_launch(launched, cast):
    visit = visits_of(launched)[0]
    for day in (TODAY() + timedelta(days=1), TODAY() - timedelta(days=1)):
        error = refused(lambda day=day: report(visit, cast.mentor, visited_on=day), launched)
        assert (error.code, list(error.field_errors)) == ("invalid_input", ["visited_on"])


def test_visits_are_reported_in_order(launched, cast):
    second = visits_of(launched)[1]
    assert refused(lambda: report(second, cast.mentor), launched).code == "visit_out_of_order"


def test_a_stopped_activity_needs_no_sales_channel_and_keeps_its_reason(launched, cast):
    visit = visits_of(launched)[0]
    saved = report(visit, cast.mentor, activity_running=False, stopped_reason="Maladie de la bénéficiaire.",
                   sales_channels=[], monthly_revenue="0", monthly_profit="0", equipment_in_use=False)
    assert saved.stopped_reason == "Maladie de la bénéficiaire."


def test_no_report_once_the_project_is_suspended(launched, cast):
    services.project_suspend(project_id=launched.pk, actor=cast.officer, reason="Vérification.")
    visit = visits_of(launched)[0]
    assert refused(lambda: report(visit, cast.mentor), launched).code == "transition_not_allowed"


# --- At-risk rules -------------------------------------------------------------------------


@pytest.mark.parametrize(("overrides", "reasons"), [
    ({"activity_running": False, "stopped_reason": "Local fermé.", "sales_channels": []}, ["activity_stopped"]),
    ({"equipment_present": False, "equipment_in_use": False}, ["equipment_missing"]),
    ({"recommendation": "at_risk"}, ["mentor_at_risk"]),
    ({}, []),
])
def test_each_rule_flags_the_project(overrides, reasons, launched, cast, program):
    saved = report(visits_of(launched)[0], cast.mentor, **overrides)
    assert saved.risk_reasons == reasons
    flagged = followup_selectors.at_risk_projects(program)
    assert [(item.project.pk, item.reasons) for item in flagged] == ([(launched.pk, reasons)] if reasons else [])


@pytest.mark.parametrize(("revenues", "flagged"), [
    (("5000.00", "3000.00"), True),    # falling across two consecutive visits
    (("5000.00", "5000.00"), False),   # stable
    (("5000.00", "6500.00"), False),   # growing
])
def test_revenue_falling_across_two_visits(revenues, flagged, launched, cast, program):
    first, second = visits_of(launched)[:2]
    report(first, cast.mentor, monthly_revenue=revenues[0], monthly_profit="100.00")
    saved = report(second, cast.mentor, monthly_revenue=revenues[1], monthly_profit="100.00")
    assert saved.risk_reasons == (["revenue_falling"] if flagged else [])
    assert bool(followup_selectors.at_risk_projects(program)) is flagged


def test_an_at_risk_report_notifies_each_program_officer_once_in_their_language(launched, cast):
    from core.models import UserPreference
    from notifications.models import Notification

    UserPreference.objects.create(user=cast.officer, language="en")
    visit = visits_of(launched)[0]
    report(visit, cast.mentor, equipment_present=False, equipment_in_use=False)
    sent = Notification.objects.filter(recipient=cast.officer, kind="at_risk")
    assert sent.count() == 1
    note = sent.get()
    assert launched.reference in note.subject and "At risk" in note.subject
    assert "equipment" in note.body.lower()
    assert note.link.endswith(f"/followup/projects/{launched.pk}/")
    # Not the mentor, and a stable report notifies nobody.
    assert not Notification.objects.filter(recipient=cast.mentor, kind="at_risk").exists()
    before = Notification.objects.filter(kind="at_risk").count()
    report(visits_of(launched)[1], cast.mentor)
    assert Notification.objects.filter(kind="at_risk").count() == before


def test_a_later_good_visit_clears_the_flag(launched, cast, program):
    first, second = visits_of(launched)[:2]
    report(first, cast.mentor, equipment_present=False, equipment_in_use=False)
    assert [i.project.pk for i in followup_selectors.at_risk_projects(program)] == [launched.pk]
    report(second, cast.mentor)
    assert followup_selectors.at_risk_projects(program) == []


def test_at_risk_projects_stay_within_their_program(launched, cast, make_project, program):
    from workflow.models import Program

    other_program = Program.objects.create(code="driouch", name="AGR Driouch", year=2025,
                                           envelope=Decimal("500000.00"), project_ceiling=Decimal("100000.00"))
    report(visits_of(launched)[0], cast.mentor, recommendation="at_risk")
    assert followup_selectors.at_risk_projects(other_program) == []
    assert len(followup_selectors.at_risk_projects(None)) == 1


def test_followup_outcomes_sum_up_the_programs_follow_up(make_project, cast, program):
    running = make_project("launched")
    report(visits_of(running)[0], cast.mentor, monthly_revenue="3000.00", monthly_profit="900.00",
           jobs_created=1, recommendation="at_risk")
    make_project("closed")  # success, every visit reported at 4500
    abandoned = make_project("launched")
    followup_services.project_close(project_id=abandoned.pk, actor=cast.officer, outcome="abandoned",
                           reason="La bénéficiaire a quitté la province.",
                           recovery={"items": "Machine à coudre", "value": "8000.00"})
    figures = followup_selectors.followup_outcomes(program, today=TODAY())
    assert figures["launched"] == 1
    assert figures["at_risk"] == 1
    assert figures["closed"] == {"success": 1, "failed": 0, "abandoned": 1}
    assert figures["visits"] == {"planned": 3, "due": 0, "reported": 5, "cancelled": 4}
    assert figures["latest"]["reported_projects"] == 2
    assert figures["latest"]["monthly_revenue_total"] == Decimal("7500.00")
    assert figures["equipment_recovered"] == {"count": 1, "value": Decimal("8000.00")}
    later = followup_selectors.followup_outcomes(program, today=TODAY() + relativedelta(months=7))
    assert later["visits"]["due"] == 1  # the 6-month visit of the running project


# --- Closure -------------------------------------------------------------------------------


@pytest.mark.parametrize("outcome", ["success", "failed"])
def test_success_or_failure_needs_the_plan_finished(outcome, launched, cast):
    assert not followup_complete(launched)
    error = refused(lambda: followup_services.project_close(project_id=launched.pk, actor=cast.officer, outcome=outcome),
                    launched)
    assert (error.code, error.params["failures"]) == ("guard_failed", ["followup_incomplete"])
    report_followup(launched.pk, cast)
    assert followup_complete(launched)
    followup_services.project_close(project_id=launched.pk, actor=cast.officer, outcome=outcome)
    project = GrantProject.objects.get(pk=launched.pk)
    assert (project.state, project.outcome) == ("closed", outcome)


def test_a_project_without_a_plan_is_not_complete(make_project):
    assert not followup_complete(make_project("equipped"))


def test_abandonment_with_a_reason_closes_early_and_records_the_recovery(launched, cast):
    report(visits_of(launched)[0], cast.mentor, activity_running=False, stopped_reason="Local fermé.",
           sales_channels=[])
    followup_services.project_close(
        project_id=launched.pk, actor=cast.officer, outcome="abandoned", reason="Activité arrêtée.",
        recovery={"items": "Deux machines à coudre", "value": "12000,00", "note": "Remises à l'association."},
    )
    project = GrantProject.objects.get(pk=launched.pk)
    assert (project.state, project.outcome, project.closure_reason) == ("closed", "abandoned", "Activité arrêtée.")
    recovery = EquipmentRecovery.objects.get(project=project)
    assert (recovery.items, recovery.value, recovery.recorded_by_id) == (
        "Deux machines à coudre", Decimal("12000.00"), cast.officer.pk)
    assert [v.state for v in visits_of(project)] == ["reported", "cancelled", "cancelled", "cancelled"]
    close_entry = AuditEntry.objects.for_entity(project).order_by("seq").last()
    assert close_entry.payload["recovery"]["value"] == "12000.00"
    cancel = AuditEntry.objects.for_entity(visits_of(project)[1]).order_by("seq").last()
    assert (cancel.transition, cancel.to_state, cancel.actor_id) == ("cancel", "cancelled", cast.officer.pk)
    # A cancelled visit cannot be reported any more.
    assert refused(lambda: report(visits_of(project)[1], cast.mentor), project).code == "visit_cancelled"


@pytest.mark.parametrize("reason", ["", "   "])
def test_abandonment_without_a_reason_is_refused(reason, launched, cast):
    error = refused(lambda: followup_services.project_close(
        project_id=launched.pk, actor=cast.officer, outcome="abandoned", reason=reason), launched)
    assert (error.code, list(error.field_errors)) == ("invalid_input", ["reason"])


@pytest.mark.parametrize(("outcome", "recovery", "fields"), [
    ("abandoned", {"items": "", "value": "100"}, ["recovered_items"]),
    ("abandoned", {"items": "Four", "value": "-3"}, ["recovered_value"]),
    ("success", {"items": "Four", "value": "100"}, ["recovered_items"]),
])
def test_a_bad_recovery_is_refused(outcome, recovery, fields, launched, cast):
    report_followup(launched.pk, cast)
    error = refused(lambda: followup_services.project_close(project_id=launched.pk, actor=cast.officer, outcome=outcome,
                                                   reason="Arrêt.", recovery=recovery), launched)
    assert (error.code, sorted(error.field_errors)) == ("invalid_input", fields)
    assert not EquipmentRecovery.objects.exists()


def test_the_mentor_cannot_close(launched, cast):
    report_followup(launched.pk, cast)
    error = refused(lambda: followup_services.project_close(project_id=launched.pk, actor=cast.mentor, outcome="success"),
                    launched)
    assert error.code == "permission_denied"


# --- The ledger ----------------------------------------------------------------------------


def test_the_visit_machine_is_described_for_the_verifier():
    machine = definitions()["workflow.followupvisit"]
    assert machine["initial"] == "planned"
    assert machine["transitions"] == [
        {"name": "cancel", "sources": ["planned"], "targets": ["cancelled"]},
        {"name": "report_visit", "sources": ["planned"], "targets": ["reported"]},
    ]


def test_the_ledger_verifies_after_a_whole_follow_up(make_project, cast):
    from ledger.evidence import verify_database

    done = make_project("closed")
    abandoned = make_project("launched")
    report(visits_of(abandoned)[0], cast.mentor)
    followup_services.project_close(project_id=abandoned.pk, actor=cast.officer, outcome="abandoned", reason="Départ.")
    assert FollowUpVisit.objects.filter(project__in=[done, abandoned]).count() == 8
    report_ = verify_database()
    assert report_.ok, report_.problems[:5]
