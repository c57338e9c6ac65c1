"""The training screens (issue 5, items 2–3) through the Django test client: the session
list, the trainer's group attendance form (one POST for the whole group), the program
officer's progress page and the attestation download. Every refused post is checked to
save nothing."""

from datetime import date, timedelta
from datetime import time as clock
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core.roles import Role
from tests._web import as_user, html_of
from training import services as training_services
from training.models import AttendanceRecord, TrainingModule, TrainingSession
from workflow.models import Program

pytestmark = pytest.mark.django_db

PAST = date(2025, 3, 10)


@pytest.fixture
def trainer(make_user):
    return make_user(Role.TRAINER, username="trainer")


@pytest.fixture
def plan(program, cast):
    # Project management 10 h and marketing 5 h, both mandatory; threshold 80 %.
    for code, hours in (("project-management", "10"), ("marketing", "5")):
        training_services.program_module_set(actor=cast.officer, program_id=program.pk, module=code, planned_hours=hours)
    return program


@pytest.fixture
def make_session(cast, trainer, plan):
    def make(module="project-management", hours="8", *, day=PAST, trainer_user=None):
        return training_services.training_session_create(
            actor=cast.officer, program_id=plan.pk, module=module, trainer=trainer_user or trainer,
            date=day, start_time=clock(9, 30), hours=hours, place="Maison des associations, Nador",
        )

    return make


def url(name, *args, **query):
    address = reverse(f"training:{name}", args=args)
    if query:
        address += "?" + "&".join(f"{key}={value}" for key, value in query.items())
    return address


def marks(session):
    return dict(AttendanceRecord.objects.filter(session=session).values_list("project_id", "present"))


def test_anonymous_visitors_are_sent_to_the_login_page(plan, make_session, make_project):
    session = make_session()
    project = make_project("in_training")
    client = Client()
    for address in (url("index"), url("create"), url("attendance", session.pk),
                    url("progress", program=plan.pk), url("attestation", project.pk)):
        response = client.get(address)
        assert response.status_code == 302, address
        assert response["Location"].startswith("/accounts/login/"), response["Location"]


def test_a_trainer_sees_their_sessions_and_an_officer_sees_all(client, cast, make_user, make_session):
    other = make_user(Role.TRAINER, username="other-trainer")
    mine = make_session("project-management", "8")
    make_session("marketing", "4", trainer_user=other)
    upcoming = make_session("marketing", "3", day=timezone.localdate() + timedelta(days=7))

    page = html_of(as_user(client, mine.trainer).get(url("index")))
    assert page.count("tamkeen-training-session-row") == 2  # mine and the upcoming one, not the other's
    assert url("attendance", mine.pk) in page and url("attendance", upcoming.pk) in page
    assert "Upcoming" in page and "Past" in page

    page = html_of(as_user(client, cast.officer).get(url("index")))
    assert page.count("tamkeen-training-session-row") == 3

    marketing = TrainingModule.objects.get(code="marketing")
    page = html_of(client.get(url("index", module=marketing.pk)))
    assert page.count("tamkeen-training-session-row") == 2

    # Search by the trainer's name, by the module's name; filter by program.
    page = html_of(client.get(url("index", q="other-trainer")))
    assert page.count("tamkeen-training-session-row") == 1
    page = html_of(client.get(url("index", q=marketing.name_fr.split()[0])))
    assert page.count("tamkeen-training-session-row") == 2
    assert html_of(client.get(url("index", program=mine.program_id))).count("tamkeen-training-session-row") == 3
    assert html_of(client.get(url("index", q="Tanger"))).count("tamkeen-training-session-row") == 0


def test_the_session_list_says_when_there_is_nothing(client, trainer, plan):
    page = html_of(as_user(client, trainer).get(url("index")))
    assert "No training session yet." in page
    assert url("create") in page


def test_a_trainer_schedules_a_session_for_themselves_only(client, trainer, plan):
    client = as_user(client, trainer)
    page = html_of(client.get(url("create")))
    assert 'name="trainer"' not in page
    response = client.post(url("create"), {
        "program": plan.pk, "module": TrainingModule.objects.get(code="marketing").pk,
        "date": "2025-04-02", "start_time": "14:00", "hours": "2,5", "place": "Salle communale",
    })
    assert response.status_code == 302, response.content.decode()[:3000]
    session = TrainingSession.objects.get()
    assert (session.trainer, str(session.hours), session.place) == (trainer, "2.50", "Salle communale")


def test_a_module_outside_the_plan_is_refused_on_the_form(client, trainer, plan):
    productivity = TrainingModule.objects.get(code="productivity")
    response = as_user(client, trainer).post(url("create"), {
        "program": plan.pk, "module": productivity.pk, "date": "2025-04-02", "start_time": "14:00",
        "hours": "13", "place": "Salle communale",
    })
    page = html_of(response)
    assert "This module is not part of the program&#x27;s training plan." in page
    assert "at most 12" in page
    assert not TrainingSession.objects.exists()


def test_the_trainer_records_the_whole_group_in_one_post(client, make_session, make_project, make_beneficiary):
    session = make_session()
    fatima = make_project("in_training", beneficiary=make_beneficiary(
        first_name="Fatima", last_name="Zahraoui", first_name_ar="فاطمة", last_name_ar="الزهراوي"))
    khadija, naima = make_project("in_training"), make_project("in_training")
    client = as_user(client, session.trainer)

    page = html_of(client.get(url("attendance", session.pk)))
    assert page.count("tamkeen-roster-row") == 3
    assert "Fatima Zahraoui" in page and "فاطمة الزهراوي" in page
    assert "checked" not in page

    response = client.post(url("attendance", session.pk), {
        "projects": [fatima.pk, khadija.pk, naima.pk], "present": [fatima.pk, naima.pk],
    })
    assert response.status_code == 302
    assert marks(session) == {fatima.pk: True, khadija.pk: False, naima.pk: True}
    assert set(AttendanceRecord.objects.values_list("recorded_by", flat=True)) == {session.trainer.pk}

    page = html_of(client.get(url("attendance", session.pk)))
    assert "Attendance saved: 2 present, 1 absent." in page
    assert f'id="present-{fatima.pk}" checked' in page
    assert f'id="present-{naima.pk}" checked' in page
    assert f'id="present-{khadija.pk}">' in page  # absent: not ticked

    # Re-recording the group replaces the marks.
    client.post(url("attendance", session.pk), {"projects": [fatima.pk, khadija.pk, naima.pk],
                                                 "present": [khadija.pk]})
    assert marks(session) == {fatima.pk: False, khadija.pk: True, naima.pk: False}


def test_another_trainer_and_the_officer_get_403(client, cast, make_user, make_session, make_project):
    session = make_session()
    project = make_project("in_training")
    other = make_user(Role.TRAINER, username="other-trainer")
    for user in (other, cast.officer):
        client = as_user(Client(), user)
        assert client.get(url("attendance", session.pk)).status_code == 403
        response = client.post(url("attendance", session.pk), {"projects": [project.pk], "present": [project.pk]})
        assert response.status_code == 403
    assert marks(session) == {}


def test_a_project_not_enrolled_is_refused_and_nothing_is_saved(client, make_session, make_project, make_user):
    session = make_session()
    enrolled = make_project("in_training")
    approved = make_project("approved")  # not enrolled
    other_program = Program.objects.create(
        code="driouch-views", name="AGR Driouch", year=2025, envelope=Decimal("500000.00"),
        project_ceiling=Decimal("100000.00"),
    )
    elsewhere = make_project("in_training", program=other_program)
    client = as_user(client, session.trainer)

    for intruder, message in (
        (approved, "Only projects in training can have attendance recorded"),
        (elsewhere, "This project belongs to another program."),
    ):
        response = client.post(url("attendance", session.pk), {
            "projects": [enrolled.pk, intruder.pk], "present": [enrolled.pk, intruder.pk],
        })
        page = html_of(response)
        assert message in page
        assert intruder.reference in page
        assert f'id="present-{enrolled.pk}" checked' in page  # what was ticked is kept on the form
        assert marks(session) == {}

    page = html_of(client.post(url("attendance", session.pk), {"projects": ["x"], "present": []}))
    assert "Unknown project: x." in page
    assert marks(session) == {}


def test_attendance_waits_for_the_session_to_take_place(client, make_session, make_project):
    session = make_session(day=timezone.localdate() + timedelta(days=3))
    project = make_project("in_training")
    response = as_user(client, session.trainer).post(
        url("attendance", session.pk), {"projects": [project.pk], "present": [project.pk]})
    assert "Attendance is recorded once the session has taken place." in html_of(response)
    assert marks(session) == {}


def test_the_progress_page_marks_the_projects_ready_for_sign_off(
        client, cast, trainer, plan, make_session, make_project, make_beneficiary):
    ready = make_project("in_training", beneficiary=make_beneficiary(last_name="Ready"))
    behind = make_project("in_training", beneficiary=make_beneficiary(last_name="Behind"))
    group = {ready.pk: True, behind.pk: True}
    training_services.training_record_attendance(session_id=make_session("project-management", "8").pk, actor=trainer,
                                        attendance=group)
    training_services.training_record_attendance(session_id=make_session("marketing", "4").pk, actor=trainer,
                                        attendance={ready.pk: True, behind.pk: False})

    page = html_of(as_user(client, cast.officer).get(url("progress", program=plan.pk)))
    rows = {
        pk: page.split(f'data-project="{pk}"', 1)[1].split("</tr>", 1)[0] for pk in (ready.pk, behind.pk)
    }
    assert "Ready for sign-off" in rows[ready.pk]
    assert reverse("projects:detail", args=[ready.pk]) in rows[ready.pk]
    assert "8 / 10 h (80.0 %)" in rows[ready.pk] and "4 / 5 h (80.0 %)" in rows[ready.pk]
    assert "Ready for sign-off" not in rows[behind.pk]
    assert "0 / 5 h (0.0 %)" in rows[behind.pk]
    assert "1 project ready for the training sign-off." in page

    # A trainer does not read the officer's progress page.
    assert as_user(Client(), trainer).get(url("progress", program=plan.pk)).status_code == 403


def test_the_attestation_downloads_for_a_trained_project_only(client, cast, make_project):
    trained = make_project("trained")
    untrained = make_project("in_training")
    client = as_user(client, cast.officer)

    response = client.get(url("attestation", trained.pk))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")

    response = client.get(url("attestation", untrained.pk))
    assert response.status_code == 409
    assert "The attestation is issued once the training is signed off." in response.content.decode()

    assert client.get(url("attestation", 999999)).status_code == 404


def test_the_attestation_is_linked_in_both_languages_hers_first(client, cast, make_project, program):
    """From the file's page and from the progress page's list of signed-off trainees
    (issue 15); each link gives the PDF in its language."""
    trained = make_project("trained")
    in_training = make_project("in_training")
    client = as_user(client, cast.officer)
    attestation = url("attestation", trained.pk)

    file_page = client.get(reverse("projects:detail", args=[trained.pk])).content.decode()
    assert file_page.index(f"{attestation}?lang=ar") < file_page.index(f"{attestation}?lang=fr")
    assert "attestation.pdf" not in client.get(reverse("projects:detail", args=[in_training.pk])).content.decode()

    progress = client.get(url("progress", program=program.pk)).content.decode()
    assert f"{attestation}?lang=ar" in progress and f"{attestation}?lang=fr" in progress
    assert url("attestation", in_training.pk) not in progress

    trained.beneficiary.document_language = "fr"
    trained.beneficiary.save(update_fields=["document_language"])
    file_page = client.get(reverse("projects:detail", args=[trained.pk])).content.decode()
    assert file_page.index(f"{attestation}?lang=fr") < file_page.index(f"{attestation}?lang=ar")

    response = client.get(attestation, {"lang": "fr"})
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith(f'attestation-{trained.reference}-fr.pdf"')
    assert client.get(attestation, {"lang": "de"}).status_code == 400
