"""Training (issue 5, items 1–3): the module catalog, each program's training plan,
sessions, group attendance recorded by the session's trainer, the attendance rule that
guards ``complete_training``, and the bilingual attestation.

The plan used below (the ``plan`` fixture), with the program's default 80 % threshold:
project management 20 h and marketing 10 h mandatory, specialised workshops 8 h optional.
Expected values are written out literally.
"""

import io
import threading
import time
from datetime import date
from datetime import time as clock
from decimal import Decimal

import pypdf
import pytest
from django.contrib.auth.models import Group
from django.db import connections
from django.db.models import QuerySet
from django.utils import translation

from core.exceptions import TamkeenError
from core.roles import Role
from ledger import writes
from ledger.models import AuditEntry
from training import services as training_services
from training.attendance import attendance_met, threshold_met
from training.models import AttendanceRecord, TrainingModule, TrainingSession
from training.selectors import projects_ready_for_training_signoff, session_roster, training_progress
from workflow import services
from workflow.models import Beneficiary, Commune, GrantProject, Program

PAST = date(2025, 3, 10)


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def trainer(make_user):
    return make_user(Role.TRAINER, username="trainer")


@pytest.fixture
def plan(program, cast):
    for code, hours, mandatory in (
        ("project-management", "20", True), ("marketing", "10", True), ("specialised-workshops", "8", False),
    ):
        training_services.program_module_set(
            actor=cast.officer, program_id=program.pk, module=code, planned_hours=hours, mandatory=mandatory,
        )
    return program


@pytest.fixture
def make_session(cast, trainer, plan):
    def make(module, hours, *, day=PAST, program=plan, by=None, trainer_user=None):
        return training_services.training_session_create(
            actor=by or cast.officer, program_id=program.pk, module=module, trainer=trainer_user or trainer,
            date=day, start_time=clock(9, 30), hours=hours, place="Maison des associations, Nador",
        )

    return make


def refused(call, code):
    with pytest.raises(TamkeenError) as caught:
        call()
    assert caught.value.code == code, caught.value.as_dict()
    return caught.value


def attend(session, trainer, marks):
    return training_services.training_record_attendance(
        session_id=session.pk, actor=trainer, attendance={p.pk: present for p, present in marks.items()},
    )


def progress(project):
    return [
        (row.module.code, str(row.attended_hours), str(row.planned_hours), str(row.percent), row.met)
        for row in training_progress(project, include_optional=True)
    ]


def records(session):
    return sorted(
        AttendanceRecord.objects.filter(session=session).values_list("project_id", "present", "recorded_by__username")
    )


# --- 1. The catalog and the program's plan ----------------------------------------------------


@pytest.mark.django_db
def test_the_module_catalog_is_seeded_in_three_languages():
    catalog = {m.code: (m.name_fr, m.name_ar, m.name_en, m.active) for m in TrainingModule.objects.all()}
    assert catalog == {
        "project-management": ("Gestion de projet", "تدبير المشاريع", "Project management", True),
        "economic-activity": (
            "Développement d'une activité économique", "تطوير نشاط اقتصادي", "Developing an economic activity", True,
        ),
        "productivity": ("Productivité", "الإنتاجية", "Productivity", True),
        "marketing": ("Marketing", "التسويق", "Marketing", True),
        "specialised-workshops": ("Ateliers spécialisés", "ورشات متخصصة", "Specialised workshops", True),
    }
    with translation.override("ar"):
        assert TrainingModule.objects.get(code="project-management").name == "تدبير المشاريع"


def test_a_program_plan_is_configuration_changed_in_place(plan, cast):
    rows = sorted(plan.training_modules.values_list("module__code", "mandatory", "planned_hours"))
    assert rows == [
        ("marketing", True, Decimal("10.00")),
        ("project-management", True, Decimal("20.00")),
        ("specialised-workshops", False, Decimal("8.00")),
    ]
    training_services.program_module_set(
        actor=cast.officer, program_id=plan.pk, module="marketing", planned_hours="12.5", mandatory=False,
    )
    assert plan.training_modules.get(module__code="marketing").planned_hours == Decimal("12.50")
    assert plan.training_modules.count() == 3


def test_a_plan_refuses_bad_hours_unknown_modules_and_other_roles(program, cast, trainer):
    error = refused(lambda: training_services.program_module_set(
        actor=cast.officer, program_id=program.pk, module="cooking", planned_hours="1.234", mandatory="yes",
    ), "invalid_input")
    assert sorted(error.field_errors) == ["mandatory", "module", "planned_hours"]
    for hours in ("0", "-4", "abc", "1000"):
        refused(lambda hours=hours: training_services.program_module_set(
            actor=cast.officer, program_id=program.pk, module="marketing", planned_hours=hours,
        ), "invalid_input")
    for actor in (trainer, cast.agent, cast.mentor):
        refused(lambda actor=actor: training_services.program_module_set(
            actor=actor, program_id=program.pk, module="marketing", planned_hours="10",
        ), "permission_denied")
    assert not program.training_modules.exists()


# --- 2. Sessions and attendance ---------------------------------------------------------------


def test_sessions_are_scheduled_by_an_officer_or_by_the_trainer_for_themselves(
    make_session, cast, trainer, make_user, plan,
):
    by_officer = make_session("marketing", "3")
    by_trainer = make_session("project-management", "4.5", by=trainer)
    assert (by_officer.trainer, by_officer.created_by, by_officer.hours) == (trainer, cast.officer, Decimal("3.00"))
    assert (by_trainer.trainer, by_trainer.created_by, by_trainer.hours) == (trainer, trainer, Decimal("4.50"))

    colleague = make_user(Role.TRAINER)
    refused(lambda: make_session("marketing", "3", by=trainer, trainer_user=colleague), "permission_denied")
    for actor in (cast.mentor, cast.agent, cast.finance):
        refused(lambda actor=actor: make_session("marketing", "3", by=actor), "permission_denied")
    assert TrainingSession.objects.count() == 2


def test_a_session_reports_every_bad_field_at_once_and_saves_nothing(plan, cast):
    error = refused(lambda: training_services.training_session_create(
        actor=cast.officer, program_id=plan.pk, module="productivity", trainer=cast.mentor,
        date="10/03/2025", start_time="late", hours="13", place="  ",
    ), "invalid_input")
    assert sorted(error.field_errors) == ["date", "hours", "module", "place", "start_time", "trainer"]
    assert error.field_errors["module"] == ["This module is not part of the program's training plan."]
    assert error.field_errors["trainer"] == ["Choose an active user with the trainer role."]
    assert not TrainingSession.objects.exists()


def test_the_trainer_records_a_whole_group_in_one_call(
    make_session, make_project, trainer, django_assert_max_num_queries,
):
    session = make_session("marketing", "4")
    fatima, khadija, naima = (make_project("in_training") for _ in range(3))

    # Whatever the size of the group; the first recording also closes the trainer's task.
    with django_assert_max_num_queries(40):
        saved = attend(session, trainer, {fatima: True, khadija: False, naima: True})
    with django_assert_max_num_queries(11):  # recorded again: the task is already done
        attend(session, trainer, {fatima: True, khadija: False, naima: True})

    assert [(r.project_id, r.present) for r in saved] == [(fatima.pk, True), (khadija.pk, False), (naima.pk, True)]
    assert records(session) == [(fatima.pk, True, "trainer"), (khadija.pk, False, "trainer"), (naima.pk, True, "trainer")]
    assert all(r.recorded_at is not None for r in saved)
    roster = session_roster(session)
    assert {(line.project.pk, line.present) for line in roster} == {
        (fatima.pk, True), (khadija.pk, False), (naima.pk, True),
    }
    names = [line.project.beneficiary.last_name for line in roster]
    assert names == sorted(names)
    # Attendance is not a transition: the projects' audit chains did not move.
    assert AuditEntry.objects.for_entity(fatima).last().transition == "enrol"


def test_re_recording_replaces_and_is_idempotent(make_session, make_project, trainer):
    session = make_session("marketing", "4")
    fatima, khadija = make_project("in_training"), make_project("in_training")
    attend(session, trainer, {fatima: True, khadija: False})
    first = {r.project_id: r.recorded_at for r in AttendanceRecord.objects.filter(session=session)}

    attend(session, trainer, {fatima: True, khadija: False})
    assert {r.project_id: r.recorded_at for r in AttendanceRecord.objects.filter(session=session)} == first

    attend(session, trainer, {khadija: True})  # a late arrival, corrected
    assert records(session) == [(fatima.pk, True, "trainer"), (khadija.pk, True, "trainer")]
    after = {r.project_id: r.recorded_at for r in AttendanceRecord.objects.filter(session=session)}
    assert after[fatima.pk] == first[fatima.pk]
    assert after[khadija.pk] > first[khadija.pk]
    assert AttendanceRecord.objects.count() == 2


def test_only_the_sessions_own_trainer_records_attendance(make_session, make_project, make_user, trainer, cast):
    session = make_session("marketing", "4")
    project = make_project("in_training")
    colleague = make_user(Role.TRAINER)
    auditor = make_user(Role.AUDITOR)
    for actor in (colleague, cast.officer, auditor, cast.mentor):
        error = refused(lambda actor=actor: attend(session, actor, {project: True}), "permission_denied")
    assert str(error.message) == "You are not allowed to do this."
    error = refused(lambda: attend(session, colleague, {project: True}), "permission_denied")
    assert str(error.message) == "Only the session's trainer records its attendance."
    assert not AttendanceRecord.objects.exists()


def test_only_enrolled_projects_of_the_program_and_nothing_saved_otherwise(
    make_session, make_project, trainer, cast, make_beneficiary,
):
    session = make_session("marketing", "4")
    enrolled = make_project("in_training")
    approved = make_project("approved")
    other_program = Program.objects.create(
        code="other", name="AGR Driouch", year=2025, envelope=Decimal("500000.00"),
        project_ceiling=Decimal("100000.00"),
    )
    elsewhere = make_project("in_training", program=other_program)

    error = refused(lambda: training_services.training_record_attendance(
        session_id=session.pk, actor=trainer,
        attendance={enrolled.pk: True, approved.pk: True, elsewhere.pk: True, 999999: False, str(enrolled.pk + 1000): "yes"},
    ), "invalid_input")

    assert error.field_errors == {
        f"attendance.{approved.pk}": ["Only projects in training can have attendance recorded (this one is approved)."],
        f"attendance.{elsewhere.pk}": ["This project belongs to another program."],
        "attendance.999999": ["This project does not exist."],
        f"attendance.{enrolled.pk + 1000}": ["Mark the beneficiary present or absent."],
    }
    assert not AttendanceRecord.objects.exists()  # not even the enrolled project's mark
    refused(lambda: training_services.training_record_attendance(session_id=session.pk, actor=trainer, attendance={}),
            "invalid_input")
    refused(lambda: training_services.training_record_attendance(session_id=424242, actor=trainer, attendance={1: True}),
            "not_found")


def test_attendance_waits_until_the_session_has_taken_place(make_session, make_project, trainer):
    session = make_session("marketing", "4", day=date(2099, 1, 5))
    project = make_project("in_training")
    error = refused(lambda: attend(session, trainer, {project: True}), "invalid_input")
    assert error.field_errors == {"__all__": ["Attendance is recorded once the session has taken place."]}


# --- 3. The threshold rule ---------------------------------------------------------------------


@pytest.mark.parametrize(("attended", "planned", "threshold", "met"), [
    ("15.99", "20", 80, False),
    ("16", "20", 80, True),
    ("16.01", "20", 80, True),
    ("20", "20", 100, True),
    ("19.99", "20", 100, False),
    ("0", "20", 0, True),
    ("7.5", "10", 75, True),
])
def test_threshold_is_exact_on_hours(attended, planned, threshold, met):
    assert threshold_met(Decimal(attended), Decimal(planned), threshold) is met


def test_below_at_and_above_the_threshold_over_several_modules(make_session, make_project, trainer):
    project = make_project("in_training")
    pm = [make_session("project-management", "4", day=date(2025, 3, d)) for d in (3, 4, 5, 6, 7)]
    mk = [make_session("marketing", "3", day=date(2025, 3, d)) for d in (10, 11, 12, 13)]

    # Mandatory modules first, then by French name (Gestion de projet, Marketing).
    assert progress(project) == [
        ("project-management", "0.00", "20.00", "0.0", False),
        ("marketing", "0.00", "10.00", "0.0", False),
        ("specialised-workshops", "0.00", "8.00", "0.0", False),
    ]
    assert attendance_met(project) is False

    for session in pm[:3]:  # 12 of 20 h: below
        attend(session, trainer, {project: True})
    for session in mk[:2]:  # 6 of 10 h: below
        attend(session, trainer, {project: True})
    attend(pm[3], trainer, {project: False})
    assert progress(project)[:2] == [
        ("project-management", "12.00", "20.00", "60.0", False),
        ("marketing", "6.00", "10.00", "60.0", False),
    ]
    attend(pm[3], trainer, {project: True})  # 16 of 20 h: exactly 80 %
    attend(mk[2], trainer, {project: True})  # 9 of 10 h: above
    attend(mk[3], trainer, {project: True})  # 12 of 10 h: a module may run over its plan
    assert progress(project) == [
        ("project-management", "16.00", "20.00", "80.0", True),
        ("marketing", "12.00", "10.00", "120.0", True),
        # Optional: shown, never attended, and it does not block.
        ("specialised-workshops", "0.00", "8.00", "0.0", False),
    ]
    assert attendance_met(project) is True
    assert [row.module.code for row in training_progress(project)] == ["project-management", "marketing"]


def test_a_program_without_mandatory_modules_has_nothing_to_attend(make_project):
    project = make_project("in_training")
    assert training_progress(project) == []
    assert attendance_met(project) is True


def test_the_projects_ready_for_sign_off(make_session, make_project, trainer, plan):
    ready, behind = make_project("in_training"), make_project("in_training")
    make_project("approved")
    attend(make_session("project-management", "8", day=date(2025, 3, 3)), trainer, {ready: True, behind: True})
    attend(make_session("project-management", "8", day=date(2025, 3, 4)), trainer, {ready: True, behind: True})
    attend(make_session("marketing", "8"), trainer, {ready: True, behind: False})
    assert projects_ready_for_training_signoff(plan) == [ready]


# --- complete_training, guarded by the rule ------------------------------------------------------


def test_sign_off_is_refused_naming_the_missing_modules_until_attendance_suffices(
    make_session, make_project, trainer, cast,
):
    project = make_project("in_training")
    trail = list(AuditEntry.objects.for_entity(project).values_list("seq", "transition"))
    pm = make_session("project-management", "12")
    marketing = make_session("marketing", "4")
    attend(pm, trainer, {project: True})

    error = refused(lambda: training_services.project_complete_training(project_id=project.pk, actor=cast.officer),
                    "guard_failed")
    assert error.params["failures"] == ["training_incomplete"]
    assert error.field_errors == {"__all__": [
        "Mandatory modules below the 80 % attendance threshold: "
        "Project management (12 of 20 h, 60.0 %); Marketing (0 of 10 h, 0.0 %)."
    ]}

    attend(make_session("project-management", "4", day=date(2025, 3, 11)), trainer, {project: True})
    attend(marketing, trainer, {project: True})
    error = refused(lambda: training_services.project_complete_training(project_id=project.pk, actor=cast.officer),
                    "guard_failed")
    assert error.field_errors["__all__"] == [
        "Mandatory modules below the 80 % attendance threshold: Marketing (4 of 10 h, 40.0 %)."
    ]
    assert GrantProject.objects.get(pk=project.pk).state == "in_training"
    assert list(AuditEntry.objects.for_entity(project).values_list("seq", "transition")) == trail

    attend(make_session("marketing", "4", day=date(2025, 3, 12)), trainer, {project: True})  # 8 of 10 h
    training_services.project_complete_training(project_id=project.pk, actor=cast.officer)

    assert GrantProject.objects.get(pk=project.pk).state == "trained"
    entry = AuditEntry.objects.for_entity(project).order_by("seq").last()
    assert (entry.seq, entry.transition, entry.from_state, entry.to_state, entry.actor, entry.actor_role) == (
        len(trail) + 1, "complete_training", "in_training", "trained", cast.officer, "program_officer",
    )
    # Signed off: what it relied on is frozen.
    error = refused(lambda: attend(marketing, trainer, {project: False}), "invalid_input")
    assert error.field_errors == {f"attendance.{project.pk}": [
        "Only projects in training can have attendance recorded (this one is trained)."
    ]}


def test_only_program_officers_sign_off_training(make_project, trainer):
    project = make_project("in_training")
    refused(lambda: training_services.project_complete_training(project_id=project.pk, actor=trainer), "permission_denied")


@pytest.mark.django_db
def test_role_table_for_training():
    def perms(role):
        return {p.codename for p in Group.objects.get(name=role).permissions.filter(content_type__app_label__in=("workflow", "training"))
                if "training" in p.codename or "attendance" in p.codename or "programmodule" in p.codename
                or p.codename == "assign_trainer"}

    assert perms("trainer") == {
        "view_trainingmodule", "view_programmodule", "view_trainingsession", "view_attendancerecord",
        "add_trainingsession", "add_attendancerecord",
    }
    assert perms("auditor") == {
        "view_trainingmodule", "view_programmodule", "view_trainingsession", "view_attendancerecord",
    }
    assert perms("program_officer") == {
        "view_trainingmodule", "view_programmodule", "view_trainingsession", "view_attendancerecord",
        "add_programmodule", "change_programmodule", "add_trainingsession", "assign_trainer",
        "complete_training",
    }


# --- 4. The attestation ---------------------------------------------------------------------------


def pdf_text(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages]


def test_the_attestation_in_arabic_and_in_french(make_session, make_project, make_beneficiary, trainer, cast):
    """One PDF per language, each wholly in it: the place names in that language's script,
    the hours, dates and reference intact; without a language, the beneficiary's own."""
    beneficiary = make_beneficiary(first_name="Khadija", last_name="Boutaleb", first_name_ar="خديجة",
                                   last_name_ar="بوطالب", commune=Commune.objects.get(code="zaio"))
    project = make_project("in_training", beneficiary=beneficiary)
    attend(make_session("project-management", "10", day=date(2025, 3, 3)), trainer, {project: True})
    attend(make_session("project-management", "7.5", day=date(2025, 3, 4)), trainer, {project: True})
    attend(make_session("marketing", "9"), trainer, {project: True})
    attend(make_session("specialised-workshops", "3"), trainer, {project: True})
    training_services.project_complete_training(project_id=project.pk, actor=cast.officer)
    services.project_open_funding(project_id=project.pk, actor=cast.finance)  # later states keep it
    project = GrantProject.objects.get(pk=project.pk)
    completed_on = training_services.attestation_context(project)["completed_on"].strftime("%d/%m/%Y")

    arabic_pdf = training_services.training_attestation_pdf(project, "ar")
    french_pdf = training_services.training_attestation_pdf(project, "fr")

    assert arabic_pdf.startswith(b"%PDF") and french_pdf.startswith(b"%PDF")
    (arabic,), (french,) = pdf_text(arabic_pdf), pdf_text(french_pdf)
    for text in ("Attestation de formation", "Madame", "Khadija Boutaleb", "خديجة بوطالب", project.reference,
                 "AGR Nador", "Gestion de projet", "Marketing", "Ateliers spécialisés", "17,5", "Heures suivies",
                 "Zaïo", "Conseil provincial de Nador", completed_on):
        assert text in french, text
    for text in ("شهادة التكوين", "السيدة", "خديجة بوطالب", "Khadija Boutaleb", "تدبير المشاريع", "التسويق",
                 "ورشات متخصصة", "17,5", "AGR Nador", "زايو", "الناظور", "الجماعة", project.reference, completed_on):
        assert text in arabic, text
    assert "Productivité" not in french  # not in the program's plan
    assert "شهادة التكوين" not in french and "Attestation de formation" not in arabic
    assert "Zaïo" not in arabic and "زايو" not in french
    # The beneficiary's language decides when none is asked for.
    assert "شهادة التكوين" in pdf_text(training_services.training_attestation_pdf(project))[0]
    Beneficiary.objects.filter(pk=beneficiary.pk).update(document_language="fr")
    project = GrantProject.objects.select_related("beneficiary").get(pk=project.pk)
    assert "Attestation de formation" in pdf_text(training_services.training_attestation_pdf(project))[0]
    refused(lambda: training_services.training_attestation_pdf(project, "en"), "invalid_input")


def test_no_attestation_before_training_is_signed_off(make_project):
    for state in ("approved", "in_training"):
        project = make_project(state)
        error = refused(lambda project=project: training_services.training_attestation_pdf(project), "training_not_completed")
        assert str(error.message) == "The attestation is issued once the training is signed off."


# --- Concurrency (real PostgreSQL connections) --------------------------------------------------


def _in_thread(call, outcomes, key, *, delay=0.0):
    def run():
        time.sleep(delay)
        try:
            call()
            outcomes[key] = "ok"
        except TamkeenError as error:
            outcomes[key] = error.code
        except Exception as error:  # reported by the assertions, not swallowed
            outcomes[key] = f"unexpected {type(error).__name__}: {error}"
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, name=f"racer-{key}")
    thread.start()
    return thread


def _hold_open(monkeypatch, method_owner, name, seconds=0.5):
    """In racing threads only, keep the transaction (and its locks) open after ``name``."""
    original = getattr(method_owner, name)

    def slowly(*args, **kwargs):
        result = original(*args, **kwargs)
        if threading.current_thread().name.startswith("racer-"):
            time.sleep(seconds)
        return result

    monkeypatch.setattr(method_owner, name, slowly)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("reference_data")
@pytest.mark.parametrize("first", ["sign_off", "attendance"])
def test_a_sign_off_and_a_withdrawn_mark_never_interleave(first, make_session, make_project, trainer, cast,
                                                         monkeypatch):
    project = make_project("in_training")
    for day in (3, 4):  # 16 of 20 h
        attend(make_session("project-management", "8", day=date(2025, 3, day)), trainer, {project: True})
    mk = make_session("marketing", "8")  # 8 of 10 h
    attend(mk, trainer, {project: True})
    assert attendance_met(project) is True
    if first == "sign_off":
        _hold_open(monkeypatch, writes, "write_transition")
    else:
        _hold_open(monkeypatch, QuerySet, "bulk_update")

    outcomes = {}
    calls = {
        "sign_off": lambda: training_services.project_complete_training(project_id=project.pk, actor=cast.officer),
        # The trainer corrects the marketing session: she was in fact absent (0 of 10 h).
        "attendance": lambda: attend(mk, trainer, {project: False}),
    }
    second = "attendance" if first == "sign_off" else "sign_off"
    threads = [_in_thread(calls[first], outcomes, first), _in_thread(calls[second], outcomes, second, delay=0.2)]
    for thread in threads:
        thread.join(timeout=30)

    state = GrantProject.objects.get(pk=project.pk).state
    present = AttendanceRecord.objects.get(session=mk, project=project).present
    if first == "sign_off":
        assert outcomes == {"sign_off": "ok", "attendance": "invalid_input"}
        assert (state, present) == ("trained", True)
    else:
        assert outcomes == {"attendance": "ok", "sign_off": "guard_failed"}
        assert (state, present) == ("in_training", False)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("reference_data")
def test_the_same_group_recorded_four_times_at_once_keeps_one_mark_each(make_session, make_project, trainer):
    session = make_session("marketing", "4")
    group = [make_project("in_training") for _ in range(3)]
    outcomes = {}
    threads = [
        _in_thread(lambda: attend(session, trainer, dict.fromkeys(group, True)), outcomes, n) for n in range(4)
    ]
    for thread in threads:
        thread.join(timeout=30)
    assert outcomes == {0: "ok", 1: "ok", 2: "ok", 3: "ok"}
    assert records(session) == [(p.pk, True, "trainer") for p in group]
