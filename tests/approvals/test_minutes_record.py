"""The minutes say when the session was held and what happened to each file (issue 15,
item 5): the day and hour of its opening (the planned date only when it differs), and
one result line per file — decided on the votes, deferred (quorum, tie, majority) or not
examined — never a line that contradicts another. Sentences are compared with the
catalogs' own text under each language, so the tests hold before and after translation.
"""

import io
import re
from datetime import timedelta

import pypdf
import pytest
from django.utils import timezone, translation
from django.utils.translation import gettext

from approvals import services as committee
from approvals.models import SessionMinutes
from tests._committee_support import declare_and_vote, fresh_session, make_board, open_session

pytestmark = pytest.mark.django_db

DECIDED = "Decided on the votes: %(cast)s votes cast by %(voters)s members entitled to vote (quorum: %(needed)s)."
NOT_EXAMINED = "Not examined: no vote was cast. The file is deferred."


def parts(session) -> tuple[str, str]:
    """The French and the Arabic part of the session's minutes, whitespace collapsed."""
    reader = pypdf.PdfReader(io.BytesIO(bytes(SessionMinutes.objects.get(session=session).pdf)))
    french, arabic = (" ".join(page.extract_text().split()) for page in reader.pages)
    return french, arabic


def plain(text: str) -> str:
    """Words, numbers and dates only: text extraction may move punctuation at the edge of
    a right-to-left run (an English sentence not yet translated in the Arabic part)."""
    return " ".join(re.sub(r"[^\w/,]+", " ", text).split())


def said(msgid: str, language: str, **numbers) -> str:
    with translation.override(language):
        text = gettext(msgid)
    return plain(text % numbers if numbers else text)


def held(session, language: str) -> str:
    opened = timezone.localtime(session.opened_at)
    with translation.override(language):
        return gettext("Held on %(date)s, opened at %(time)s.") % {
            "date": opened.strftime("%d/%m/%Y"), "time": opened.strftime("%H:%M")}


def planned(session, language: str) -> str:
    scheduled = timezone.localtime(session.scheduled_for)
    with translation.override(language):
        return gettext("(Planned for %(date)s at %(time)s.)") % {
            "date": scheduled.strftime("%d/%m/%Y"), "time": scheduled.strftime("%H:%M")}


@pytest.fixture
def board(cast, program, make_user):
    return make_board(cast, program, make_user, n_members=2)


def test_a_session_held_before_its_planned_day_is_dated_on_the_day_it_was_held(board, make_project,
                                                                               make_beneficiary):
    chair, a, _b = board.everyone
    beneficiary = make_beneficiary(first_name_ar="خديجة", last_name_ar="البوعزاوي")
    project = make_project("eligible", beneficiary=beneficiary)
    session, (item,) = open_session(board, [project], present=[chair, a])  # planned three days ahead
    declare_and_vote(item, chair, "approve")
    declare_and_vote(item, a, "approve")
    committee.item_confirm_decision(item_id=item.pk, actor=chair, amount="52000.00")
    committee.session_close(session_id=session.pk, actor=chair)
    session = fresh_session(session)
    assert timezone.localdate(session.opened_at) != timezone.localdate(session.scheduled_for)

    french, arabic = parts(session)
    # The French half in full; in the Arabic half (right to left, where the extracted
    # text of a line mixing digits and words is in visual order), its dates.
    assert plain(held(session, "fr")) in plain(french)
    assert plain(planned(session, "fr")) in plain(french)
    assert said(DECIDED, "fr", cast=2, voters=2, needed=2) in plain(french)
    for moment in (session.opened_at, session.scheduled_for):
        assert timezone.localtime(moment).strftime("%d/%m/%Y") in arabic
    for text in (french, arabic):
        assert project.reference in text
    flat_fr, flat_ar = (t.replace("\u202f", " ").replace("\xa0", " ") for t in (french, arabic))
    assert "52 000,00 MAD" in flat_fr
    # The Arabic part: the amount (in dirhams), the dates and the reference intact.
    assert "52 000,00" in flat_ar and "د.م." in arabic
    assert timezone.localdate(session.opened_at).strftime("%d/%m/%Y") in arabic
    assert "خديجة البوعزاوي" in arabic


def test_a_session_held_on_its_planned_day_shows_one_date(board, make_project):
    chair, a, b = board.everyone
    project = make_project("eligible")
    session = committee.session_create(actor=board.officer, committee=board.committee, title="Session du jour",
                                       scheduled_for=timezone.now() - timedelta(minutes=5), location="Nador")
    item = committee.session_add_item(session_id=session.pk, project_id=project.pk, actor=board.officer)
    committee.session_record_attendance(session_id=session.pk, actor=board.officer,
                                        present_user_ids=[chair.pk, a.pk, b.pk])
    committee.session_open(session_id=session.pk, actor=chair)
    for member in (chair, a, b):
        declare_and_vote(item, member, "reject")
    committee.item_confirm_decision(item_id=item.pk, actor=chair, reason="Marché saturé.")
    committee.session_close(session_id=session.pk, actor=chair)
    session = fresh_session(session)

    french, _arabic = parts(session)
    assert held(session, "fr") in french
    with translation.override("fr"):
        assert gettext("(Planned for %(date)s at %(time)s.)").split("%")[0].strip() not in french


def test_a_file_nobody_voted_on_is_not_examined_and_not_labelled_decided(board, make_project):
    chair, a, _b = board.everyone
    voted, untouched = make_project("eligible"), make_project("eligible")
    session, (voted_item, untouched_item) = open_session(board, [voted, untouched], present=[chair, a])
    declare_and_vote(voted_item, chair, "approve")
    declare_and_vote(voted_item, a, "approve")
    committee.item_confirm_decision(item_id=voted_item.pk, actor=chair, amount="40000.00")
    committee.item_confirm_decision(item_id=untouched_item.pk, actor=chair)  # quorum present, no vote
    committee.session_close(session_id=session.pk, actor=chair)
    session = fresh_session(session)

    french, arabic = parts(session)
    for language, text in (("fr", french), ("ar", arabic)):
        untouched_part = plain(text[text.index(untouched.reference):])
        voted_part = plain(text[text.index(voted.reference):text.index(untouched.reference)])
        assert said(NOT_EXAMINED, language) in untouched_part
        if language == "fr":  # (the Arabic line mixes digits and words: visual order)
            assert said(DECIDED, language, cast=2, voters=2, needed=2) in voted_part
        with translation.override(language):
            decided_start = plain(gettext(DECIDED).split(":")[0])
            reached = gettext("reached")
            vote_counts = plain(gettext("request revision"))
        assert decided_start not in untouched_part
        # No quorum line beside it, and no vote counts for a file nobody voted on.
        assert f"({reached})" not in text[text.index(untouched.reference):]
        assert vote_counts not in untouched_part
        # Nor the rule's "no majority", stored as the deferral's reason: nobody voted.
        with translation.override(language):
            assert plain(gettext("no majority")) not in untouched_part
    # Its decision reads "deferred", not the old "defer (no quorum or tie)".
    with translation.override("fr"):
        assert gettext("deferred") in french[french.index(untouched.reference):]
        assert gettext("defer (no quorum or tie)") not in french


def test_a_file_without_quorum_is_deferred_for_that_reason(board, make_project):
    chair, a, b = board.everyone
    project = make_project("eligible")
    session, (item,) = open_session(board, [project], present=[chair])  # 1 of 3: below quorum
    declare_and_vote(item, chair, "approve")
    committee.item_confirm_decision(item_id=item.pk, actor=chair)
    committee.session_close(session_id=session.pk, actor=chair)

    french, _arabic = parts(fresh_session(session))
    quorum = "Deferred: quorum not reached (%(voters)s members entitled to vote, %(needed)s needed)."
    assert said(quorum, "fr", voters=1, needed=2) in plain(french)
    assert said(DECIDED, "fr", cast=1, voters=1, needed=2)[:12] not in plain(french)
