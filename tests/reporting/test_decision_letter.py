"""The decision letter to the beneficiary (issue 7, item 4): an Arabic PDF (right to
left), or French with ``?lang=fr``, saying what the committee decided as the audit
chain recorded it; a coded refusal page for a project without a decision."""

import io

import pypdf
import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from approvals import services as committee
from core.exceptions import TamkeenError
from reporting.letters import decision_letter_pdf, latest_decision
from tests._committee_support import declare_and_vote, make_board, open_session
from workflow.models import Beneficiary, Commune, GrantProject

pytestmark = pytest.mark.django_db


def pdf_text(content: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


@pytest.fixture
def approved_in_session(cast, program, make_user, make_beneficiary, make_project):
    """A file approved for 52 000 MAD with a condition in the closed session « Session de mars »."""
    board = make_board(cast, program, make_user, n_members=2)
    chair, a, _b = board.everyone
    beneficiary = make_beneficiary(first_name="Khadija", first_name_ar="خديجة", last_name_ar="البوعزاوي")
    project = make_project("eligible", beneficiary=beneficiary, title="Atelier de tissage")
    session, (item,) = open_session(board, [project], present=[chair, a], title="Session de mars")
    declare_and_vote(item, chair, "approve")
    declare_and_vote(item, a, "approve")
    committee.item_confirm_decision(item_id=item.pk, actor=chair, amount="52000.00",
                                    conditions="Suivre la formation en gestion.")
    committee.session_close(session_id=session.pk, actor=chair)
    return project, session


def test_url_name_and_path():
    assert reverse("projects:decision_letter", args=[7]) == "/projects/7/decision-letter.pdf"


def test_arabic_letter_of_an_approval_in_session(client, cast, approved_in_session):
    project, session = approved_in_session
    client.force_login(cast.agent)
    response = client.get(reverse("projects:decision_letter", args=[project.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    assert "خديجة" in text and "البوعزاوي" in text
    assert project.reference in text
    assert "Atelier de tissage" in text
    assert "Session de mars" in text
    # The letter dates the session on the day it was held (opened), in the local time
    # (Africa/Casablanca), as the council reads it — not on the day it was planned for.
    assert timezone.localdate(session.opened_at).strftime("%d/%m/%Y") in text
    assert timezone.localdate(session.scheduled_for).strftime("%d/%m/%Y") not in text
    assert "المصادقة" in text
    assert "52\u202f000,00" in text  # the amount in the one format (core.money)
    # (Bidi text extraction may move a final full stop: compare without it.)
    assert "Suivre la formation en gestion" in text


def test_french_letter(client, cast, approved_in_session):
    project, _session = approved_in_session
    client.force_login(cast.officer)
    response = client.get(reverse("projects:decision_letter", args=[project.pk]), {"lang": "fr"})
    assert response.status_code == 200
    text = pdf_text(response.content)
    assert "Khadija" in text and project.reference in text
    assert "approuver" in text and "52\u202f000,00\u00a0MAD" in text
    assert "Session de mars" in text


@pytest.mark.parametrize("state,arabic_decision,reason", [
    ("rejected", "رفض", "The market study is too weak."),
    ("revision_requested", "طلب مراجعة", "Clarify the equipment list."),
])
def test_letters_of_a_rejection_and_a_revision_give_the_reasons(make_project, state, arabic_decision, reason):
    project = make_project(state)
    decision = latest_decision(project)
    assert decision.outcome in ("reject", "revise")
    text = pdf_text(decision_letter_pdf(project, "ar"))
    assert arabic_decision in text and reason.rstrip(".") in text and project.reference in text
    assert "52.000" not in text


def test_a_project_without_a_decision_gets_a_coded_refusal_page(client, cast, make_project):
    project = make_project("in_committee")
    client.force_login(cast.officer)
    response = client.get(reverse("projects:decision_letter", args=[project.pk]))
    assert response.status_code == 409
    html = response.content.decode()
    assert 'data-code="no_decision"' in html
    assert "The committee has not decided on this project yet" in html
    with pytest.raises(TamkeenError) as caught:
        decision_letter_pdf(project)
    assert caught.value.code == "no_decision"


def test_refusal_page_is_translated(cast, make_project):
    project = make_project("draft")
    client = Client(HTTP_ACCEPT_LANGUAGE="ar")
    client.force_login(cast.officer)
    response = client.get(reverse("projects:decision_letter", args=[project.pk]))
    assert response.status_code == 409
    assert 'dir="rtl"' in response.content.decode()


def test_unknown_language_and_unknown_project(client, cast, make_project):
    project = make_project("rejected")
    client.force_login(cast.officer)
    response = client.get(reverse("projects:decision_letter", args=[project.pk]), {"lang": "de"})
    assert response.status_code == 400
    assert 'data-code="invalid_input"' in response.content.decode()
    assert client.get(reverse("projects:decision_letter", args=[project.pk + 100])).status_code == 404


def test_only_project_readers_get_the_letter(client, make_project):
    project = make_project("rejected")
    client.force_login(User.objects.create_user("stranger", password="x"))
    assert client.get(reverse("projects:decision_letter", args=[project.pk])).status_code == 403


# --- Issue 15: the beneficiary's language, place names in the letter's script ------------------

@pytest.fixture
def approved_in_zaio(cast, program, make_user, make_beneficiary, make_project):
    """A file of a beneficiary of Zaïo (زايو) approved for 52 000 MAD in a closed session."""
    board = make_board(cast, program, make_user, n_members=2)
    chair, a, _b = board.everyone
    beneficiary = make_beneficiary(first_name="Khadija", first_name_ar="خديجة", last_name_ar="البوعزاوي",
                                   commune=Commune.objects.get(code="zaio"))
    project = make_project("eligible", beneficiary=beneficiary, title="Atelier de tissage")
    session, (item,) = open_session(board, [project], present=[chair, a], title="Session de mars")
    declare_and_vote(item, chair, "approve")
    declare_and_vote(item, a, "approve")
    committee.item_confirm_decision(item_id=item.pk, actor=chair, amount="52000.00")
    committee.session_close(session_id=session.pk, actor=chair)
    return GrantProject.objects.select_related("beneficiary", "program").get(pk=project.pk), session


def test_the_arabic_letter_writes_the_places_in_arabic(approved_in_zaio):
    project, session = approved_in_zaio
    text = pdf_text(decision_letter_pdf(project, "ar"))
    assert "زايو" in text and "الناظور" in text  # the commune, the province
    assert "Zaïo" not in text
    assert "المجلس الإقليمي – الناظور" in text  # (Nador stays where it is data: the program's name, the room)
    assert "الجماعة" in text
    assert "52 000,00" in text.replace("\u202f", " ").replace("\xa0", " ") and project.reference in text
    assert timezone.localdate(session.opened_at).strftime("%d/%m/%Y") in text


def test_the_french_letter_is_french_with_the_french_place_names(approved_in_zaio):
    project, _session = approved_in_zaio
    text = pdf_text(decision_letter_pdf(project, "fr"))
    flat = text.replace("\u202f", " ").replace("\xa0", " ")
    for french in ("Royaume du Maroc", "Conseil provincial de Nador", "Notification de la décision",
                   "Référence du projet", "Commune", "Zaïo", "approuver", "52 000,00 MAD"):
        assert french in flat, french
    assert "زايو" not in text and "الناظور" not in text
    assert "المصادقة" not in text


def test_without_a_language_the_letter_is_in_the_beneficiarys(client, cast, approved_in_zaio):
    project, _session = approved_in_zaio
    client.force_login(cast.officer)
    url = reverse("projects:decision_letter", args=[project.pk])
    assert "إشعار بقرار اللجنة الإقليمية" in pdf_text(client.get(url).content)  # Arabic by default
    Beneficiary.objects.filter(pk=project.beneficiary_id).update(document_language="fr")
    response = client.get(url)
    assert response["Content-Disposition"].endswith(f'decision-{project.reference}-fr.pdf"')
    assert "Notification de la décision du comité provincial" in pdf_text(response.content)


def test_the_files_page_offers_both_languages_hers_first(client, cast, approved_in_zaio):
    project, _session = approved_in_zaio
    client.force_login(cast.officer)
    letter = reverse("projects:decision_letter", args=[project.pk])
    html = client.get(reverse("projects:detail", args=[project.pk])).content.decode()
    assert html.index(f"{letter}?lang=ar") < html.index(f"{letter}?lang=fr")
    Beneficiary.objects.filter(pk=project.beneficiary_id).update(document_language="fr")
    html = client.get(reverse("projects:detail", args=[project.pk])).content.decode()
    assert html.index(f"{letter}?lang=fr") < html.index(f"{letter}?lang=ar")
    # No attestation before the training is signed off.
    assert "attestation.pdf" not in html
