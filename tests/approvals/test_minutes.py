"""The session's minutes (procès-verbal): the PDF written at close (French part, then
Arabic part), its SHA-256 in the closing audit entry, and the members' confirmations by
re-entering their password (issue 4, item 6).

The PDF's text is extracted with pypdf: Arabic must come out as the logical-order,
unshaped letters that were put in (WeasyPrint writes a ToUnicode map for every shaped
glyph), so names and criteria are found exactly as stored.
"""

import hashlib
import io
import re
import threading

import pypdf
import pytest
from django.contrib.auth.models import User
from django.db import DatabaseError, connection, connections, transaction

from approvals import services as committee
from approvals.models import CommitteeSession, MinutesConfirmation, SessionMinutes
from approvals.services import sessions
from approvals.services.minutes import facts_digest
from core.exceptions import TamkeenError
from core.roles import Role
from ledger.models import AuditEntry
from tests._audit_support import committed
from tests._committee_support import (
    CRITERIA_AR,
    PASSWORD,
    declare_and_vote,
    entries,
    fresh_session,
    make_board,
    open_session,
)
from workflow.models import GrantProject, Program

ARABIC_LETTER = re.compile(r"[\u0600-\u06FF]")
PRESENTATION_FORMS = re.compile(r"[\uFB50-\uFDFF\uFE70-\uFEFF]")


def decided_session(cast, program, make_user, make_beneficiary, make_project):
    """An open session of three members (b recused, c absent) whose one file, of a
    beneficiary with a distinctive Arabic name, has a confirmed approval. Returns
    (board, session, item)."""
    board = make_board(cast, program, make_user, n_members=3)
    chair, a, b, c = board.everyone
    b.first_name, b.last_name = "Nadia", "Rifi"
    b.save(update_fields=["first_name", "last_name"])
    beneficiary = make_beneficiary(first_name="Khadija", first_name_ar="خديجة", last_name_ar="البوعزاوي")
    project = make_project("eligible", beneficiary=beneficiary, title="Atelier de tissage")
    session, (item,) = open_session(board, [project], present=[chair, a, b])
    committee.item_declare_interest(item_id=item.pk, actor=b, has_conflict=True, note="Voisine.")
    declare_and_vote(item, chair, "approve")
    declare_and_vote(item, a, "approve", scores={"viability": 2, "impact": 3, "capacity": 4, "market": 5})
    committee.item_confirm_decision(item_id=item.pk, actor=chair, amount="52000.00",
                                    conditions="Suivre la formation en gestion.")
    return board, session, item


@pytest.fixture
def closed(cast, program, make_user, make_beneficiary, make_project):
    """The decided session, closed. Returns (board, session, minutes)."""
    board, session, _item = decided_session(cast, program, make_user, make_beneficiary, make_project)
    committee.session_close(session_id=session.pk, actor=board.chair)
    return board, fresh_session(session), SessionMinutes.objects.get(session=session)


def pdf_pages(minutes) -> list[str]:
    reader = pypdf.PdfReader(io.BytesIO(bytes(minutes.pdf)))
    return [page.extract_text() for page in reader.pages]


def refused(call, code):
    with pytest.raises(TamkeenError) as caught:
        call()
    assert caught.value.code == code, caught.value.as_dict()
    return caught.value


# --- The PDF ------------------------------------------------------------------------------

def test_minutes_are_a_two_part_pdf(closed):
    _board, _session, minutes = closed
    data = bytes(minutes.pdf)
    assert data.startswith(b"%PDF-")
    pages = pdf_pages(minutes)
    assert len(pages) == 2
    assert pages[0].rstrip().endswith("1 / 2")
    assert pages[1].rstrip().endswith("2 / 2")


def test_the_arabic_part_carries_the_arabic_names_in_logical_order(closed):
    _board, _session, minutes = closed
    french, arabic = pdf_pages(minutes)
    assert "خديجة البوعزاوي" in arabic
    assert "خديجة" not in french
    assert "Khadija" in french
    # The criteria, by their Arabic names (a long cell may wrap: word by word, in order
    # within each word, never reversed or as presentation forms).
    arabic_words = set(re.findall(r"[\u0600-\u06FF]+", arabic))
    for name in CRITERIA_AR:
        for word in name.split():
            assert word in arabic_words, (word, arabic)
    assert "الجدوى الاقتصادية" in arabic
    assert not PRESENTATION_FORMS.search(arabic)
    assert not ARABIC_LETTER.search(french)


def test_the_french_part_carries_the_french_criteria_and_the_decision(closed):
    board, session, minutes = closed
    french, arabic = pdf_pages(minutes)
    for name in ["Viabilité économique", "Impact social", "Capacité de la porteuse", "Marché et débouchés"]:
        assert name in french
    assert "Atelier de tissage" in french
    assert "Suivre la formation en gestion." in french
    assert "52\u202f000,00\u00a0MAD" in french
    # The recused member is named in both parts; averages are over the two counted votes.
    assert "Nadia Rifi" in french and "Nadia Rifi" in arabic
    assert "3,0/5" in french  # viability: (4 + 2) / 2
    assert "4,5/5" in french  # market: (4 + 5) / 2
    assert session.title in french


def test_the_minutes_labels_are_in_french_and_in_arabic(closed):
    _board, _session, minutes = closed
    french, arabic = pdf_pages(minutes)
    assert "Minutes of the committee session" not in french
    assert "Minutes of the committee session" not in arabic
    assert ARABIC_LETTER.search(arabic.splitlines()[0]), arabic.splitlines()[0]


def test_the_minutes_hash_is_the_one_in_the_closing_audit_entry(closed):
    _board, session, minutes = closed
    assert minutes.sha256 == hashlib.sha256(bytes(minutes.pdf)).hexdigest()
    close = entries(session)[-1]
    assert (close.transition, close.from_state, close.to_state) == ("close", "open", "closed")
    assert close.payload["minutes_sha256"] == hashlib.sha256(bytes(minutes.pdf)).hexdigest()
    # The hash is in the signed bytes, not only in the queryable column.
    assert minutes.sha256.encode() in bytes(close.canonical)


# --- Rendered before the locks ----------------------------------------------------------------

class Renders(list):
    """The calls of the minutes renderer: facts, whether a transaction was open, the PDF."""

    def during(self, facts):
        """Runs as each render starts (a test replaces it)."""


@pytest.fixture
def renders(monkeypatch):
    """Wraps the minutes renderer the close calls; ``renders.during`` runs as each render
    starts, before the PDF is made."""
    real = sessions.render_minutes
    calls = Renders()

    def render(facts):
        calls.append({"facts": facts, "in_transaction": connection.in_atomic_block})
        calls.during(facts)
        calls[-1]["pdf"] = real(facts)
        return calls[-1]["pdf"]

    monkeypatch.setattr(sessions, "render_minutes", render)
    return calls


@committed
def test_the_minutes_are_rendered_outside_any_transaction_and_their_hash_is_signed(
        cast, program, make_user, make_beneficiary, make_project, renders):
    board, session, _item = decided_session(cast, program, make_user, make_beneficiary, make_project)
    committee.session_close(session_id=session.pk, actor=board.chair)
    assert [call["in_transaction"] for call in renders] == [False]  # hence no lock held
    minutes = SessionMinutes.objects.get(session=session)
    assert bytes(minutes.pdf) == renders[0]["pdf"]
    digest = hashlib.sha256(bytes(minutes.pdf)).hexdigest()
    close = entries(session)[-1]
    assert (close.transition, minutes.sha256, close.payload["minutes_sha256"]) == ("close", digest, digest)
    assert f'"minutes_sha256":"{digest}"'.encode() in bytes(close.canonical)  # in the signed bytes


@pytest.mark.postgres
@pytest.mark.usefixtures("reference_data")
def test_no_row_of_the_close_is_locked_while_the_minutes_render(
        cast, program, make_user, make_beneficiary, make_project, renders):
    """Another connection locks the session, the program (envelope) and the file with
    NOWAIT while the PDF is being made: none of them is held by the close."""
    board, session, item = decided_session(cast, program, make_user, make_beneficiary, make_project)
    outcome = []

    def lock_elsewhere():
        try:
            with transaction.atomic():
                CommitteeSession.objects.select_for_update(nowait=True).get(pk=session.pk)
                Program.objects.select_for_update(nowait=True).get(pk=program.pk)
                GrantProject.objects.select_for_update(nowait=True).get(pk=item.project_id)
            outcome.append("free")
        except DatabaseError as error:
            outcome.append(f"locked: {error}")
        finally:
            connections.close_all()

    def from_another_connection(_facts):
        thread = threading.Thread(target=lock_elsewhere)
        thread.start()
        thread.join(timeout=30)

    renders.during = from_another_connection
    committee.session_close(session_id=session.pk, actor=board.chair)
    assert outcome == ["free"]
    assert fresh_session(session).state == "closed"
    minutes = SessionMinutes.objects.get(session=session)
    assert entries(session)[-1].payload["minutes_sha256"] == hashlib.sha256(bytes(minutes.pdf)).hexdigest()


def test_a_change_while_the_minutes_render_renders_them_again(
        cast, program, make_user, make_beneficiary, make_project, renders):
    board, session, _item = decided_session(cast, program, make_user, make_beneficiary, make_project)
    member = board.members[0]

    def correct_a_name_once(_facts):
        if len(renders) == 1:  # a member's name corrected while the first PDF is being made
            User.objects.filter(pk=member.pk).update(last_name="Corrigé")

    renders.during = correct_a_name_once
    committee.session_close(session_id=session.pk, actor=board.chair)
    assert len(renders) == 2
    assert facts_digest(renders[0]["facts"]) != facts_digest(renders[1]["facts"])
    minutes = SessionMinutes.objects.get(session=session)
    assert bytes(minutes.pdf) == renders[1]["pdf"]  # the second, current rendering
    french, _arabic = pdf_pages(minutes)
    assert "Corrigé" in french
    assert entries(session)[-1].payload["minutes_sha256"] == hashlib.sha256(bytes(minutes.pdf)).hexdigest()


def test_a_session_that_keeps_changing_while_its_minutes_render_is_not_closed(
        cast, program, make_user, make_beneficiary, make_project, renders):
    board, session, item = decided_session(cast, program, make_user, make_beneficiary, make_project)
    member = board.members[0]
    before = AuditEntry.objects.count()

    def rename(_facts):
        User.objects.filter(pk=member.pk).update(last_name=f"Nom {len(renders)}")

    renders.during = rename
    refused(lambda: committee.session_close(session_id=session.pk, actor=board.chair), "minutes_outdated")
    assert len(renders) == 2  # rendered again once, then refused
    assert fresh_session(session).state == "open"
    assert GrantProject.objects.get(pk=item.project_id).state == "in_committee"  # the decision rolled back
    assert not SessionMinutes.objects.filter(session=session).exists()
    assert AuditEntry.objects.count() == before


def test_a_refused_close_renders_nothing(cast, program, make_user, make_beneficiary, make_project, renders):
    board, session, _item = decided_session(cast, program, make_user, make_beneficiary, make_project)
    refused(lambda: committee.session_close(session_id=session.pk, actor=board.members[0]), "not_a_member")
    assert renders == []


def test_minutes_are_written_once(closed):
    _board, _session, minutes = closed
    minutes.pdf = b"%PDF-1.4 forged"
    with pytest.raises(ValueError, match="written once"):
        minutes.save()
    assert bytes(SessionMinutes.objects.get(pk=minutes.pk).pdf).startswith(b"%PDF-")


# --- Confirmations (step-up re-authentication) -----------------------------------------------

def test_confirming_with_the_right_password(closed):
    board, session, minutes = closed
    member = board.members[0]
    count = AuditEntry.objects.count()
    confirmation = committee.minutes_confirm(session_id=session.pk, actor=member, password=PASSWORD)

    assert (confirmation.session_id, confirmation.user_id) == (session.pk, member.pk)
    assert AuditEntry.objects.count() == count + 1
    last = entries(session)[-1]
    assert (last.transition, last.from_state, last.to_state, last.actor_id, last.actor_role) == (
        "confirm_minutes", "closed", "closed", member.pk, "committee_member")
    assert last.payload == {"minutes_sha256": minutes.sha256}
    assert len(last.signature) == 64  # Ed25519
    assert fresh_session(session).state == "closed"


def test_every_present_member_confirms_once(closed):
    board, session, _minutes = closed
    chair, a, b, _absent = board.everyone
    for member in (chair, a, b):
        committee.minutes_confirm(session_id=session.pk, actor=member, password=PASSWORD)
    assert sorted(MinutesConfirmation.objects.filter(session=session).values_list("user_id", flat=True)) == sorted(
        u.pk for u in (chair, a, b))
    assert [e.transition for e in entries(session)][-3:] == ["confirm_minutes"] * 3


def test_a_member_absent_from_the_session_cannot_confirm_its_minutes(closed):
    board, session, _minutes = closed
    absent = board.everyone[3]
    count = AuditEntry.objects.count()
    refused(lambda: committee.minutes_confirm(session_id=session.pk, actor=absent, password=PASSWORD),
            "not_a_member")
    assert not MinutesConfirmation.objects.filter(session=session).exists()
    assert AuditEntry.objects.count() == count


@pytest.mark.parametrize("password", ["wrong-password", "", None, PASSWORD.upper()])
def test_a_wrong_password_is_refused_and_writes_nothing(closed, password):
    board, session, _minutes = closed
    count = AuditEntry.objects.count()
    error = refused(lambda: committee.minutes_confirm(session_id=session.pk, actor=board.chair, password=password),
                    "reauthentication_failed")
    assert list(error.field_errors) == ["password"]
    assert not MinutesConfirmation.objects.filter(session=session).exists()
    assert AuditEntry.objects.count() == count


def test_repeated_wrong_passwords_lock_the_confirmation_for_a_while(closed, settings):
    settings.TAMKEEN_STEPUP_MAX_FAILURES = 3
    board, session, _minutes = closed
    member = board.members[0]
    for _attempt in range(3):
        refused(lambda: committee.minutes_confirm(session_id=session.pk, actor=member, password="guess"),
                "reauthentication_failed")
    count = AuditEntry.objects.count()
    # Now even the right password is refused, with its own code, and nothing is written.
    error = refused(lambda: committee.minutes_confirm(session_id=session.pk, actor=member, password=PASSWORD),
                    "too_many_attempts")
    assert list(error.field_errors) == ["password"] and "15" in error.field_errors["password"][0]  # minutes left
    assert not MinutesConfirmation.objects.filter(session=session).exists()
    assert AuditEntry.objects.count() == count
    # Another member is not affected; once the window has passed (the count expires), the
    # member confirms.
    committee.minutes_confirm(session_id=session.pk, actor=board.members[1], password=PASSWORD)
    from django.core.cache import cache

    cache.delete(f"tamkeen:stepup-failures:{member.pk}")
    committee.minutes_confirm(session_id=session.pk, actor=member, password=PASSWORD)


def test_a_right_password_resets_the_count_of_wrong_ones(closed, settings):
    settings.TAMKEEN_STEPUP_MAX_FAILURES = 2
    board, session, _minutes = closed
    chair = board.chair
    refused(lambda: committee.minutes_confirm(session_id=session.pk, actor=chair, password="guess"),
            "reauthentication_failed")
    committee.minutes_confirm(session_id=session.pk, actor=chair, password=PASSWORD)
    # One wrong password after a right one is again the first of the window.
    refused(lambda: committee.minutes_confirm(session_id=session.pk, actor=chair, password="guess"),
            "reauthentication_failed")


def test_confirming_twice_is_refused(closed):
    board, session, _minutes = closed
    member = board.members[1]
    committee.minutes_confirm(session_id=session.pk, actor=member, password=PASSWORD)
    count = AuditEntry.objects.count()
    error = refused(lambda: committee.minutes_confirm(session_id=session.pk, actor=member, password=PASSWORD),
                    "invalid_input")
    assert list(error.field_errors) == ["__all__"]
    assert MinutesConfirmation.objects.filter(session=session, user=member).count() == 1
    assert AuditEntry.objects.count() == count


def test_a_non_member_cannot_confirm(closed, make_user, cast):
    _board, session, _minutes = closed
    outsider = make_user(Role.COMMITTEE_MEMBER)
    count = AuditEntry.objects.count()
    refused(lambda: committee.minutes_confirm(session_id=session.pk, actor=outsider, password=PASSWORD),
            "not_a_member")
    # Without the committee role (the program officer who built the agenda): refused too.
    refused(lambda: committee.minutes_confirm(session_id=session.pk, actor=cast.officer, password=PASSWORD),
            "permission_denied")
    assert not MinutesConfirmation.objects.filter(session=session).exists()
    assert AuditEntry.objects.count() == count


def test_minutes_of_an_open_session_cannot_be_confirmed(cast, program, make_user, make_project):
    board = make_board(cast, program, make_user, n_members=2)
    session, _items = open_session(board, [make_project("eligible")])
    count = AuditEntry.objects.count()
    refused(lambda: committee.minutes_confirm(session_id=session.pk, actor=board.chair, password=PASSWORD),
            "transition_not_allowed")
    assert not MinutesConfirmation.objects.filter(session=session).exists()
    assert AuditEntry.objects.count() == count


def test_minutes_averages_only_count_the_counted_votes(cast, program, make_user, make_project):
    board = make_board(cast, program, make_user, n_members=3)
    chair, a, b, c = board.everyone
    session, (item,) = open_session(board, [make_project("eligible")])
    fours = {"viability": 4, "impact": 4, "capacity": 4, "market": 4}
    for member in (chair, a, b):
        declare_and_vote(item, member, "approve", scores=fours)
    declare_and_vote(item, c, "reject", scores={"viability": 0, "impact": 0, "capacity": 0, "market": 0})
    # c leaves: attendance is recorded again with c absent; c's vote no longer counts.
    committee.session_record_attendance(session_id=session.pk, actor=board.officer,
                                        present_user_ids=[chair.pk, a.pk, b.pk])
    assert committee.item_tally(item).as_dict()["reject"] == 0
    committee.item_confirm_decision(item_id=item.pk, actor=chair, amount="60000.00")
    committee.session_close(session_id=session.pk, actor=chair)
    french, _arabic = pdf_pages(SessionMinutes.objects.get(session=session))
    assert entries(session)[-1].payload["decisions"][0]["tally"]["approve"] == 3
    assert "Viabilité économique: 4,0/5" in french, french
