"""A reason the committee's rule writes (no quorum, a tie, no majority) is a code, shown
in the reader's language: the session's page, the file's history and both halves of the
minutes; a chair's own words stay as written; a reason stored before the codes keeps its
text."""

from django.conf import settings
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse
from django.utils import translation

from approvals import services as committee
from approvals.selectors import item_tally
from approvals.services.minutes import _part_context, minutes_facts
from core.reasons import reason_text
from tests._committee_support import entries, fresh_item, open_session, vote_all

NO_QUORUM = {"ar": "عدم اكتمال النصاب", "fr": "quorum non atteint", "en": "no quorum"}


def reading(user, language):
    client = Client()
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def defer_for_no_quorum(board, project, *, confirmed_in="fr", reason=""):
    chair, a, *_absent = board.everyone
    session, (item,) = open_session(board, [project], present=[chair, a])
    vote_all(item, [(chair, "approve"), (a, "approve")])
    with translation.override(confirmed_in):  # a French-speaking chair
        committee.item_confirm_decision(item_id=item.pk, actor=chair, reason=reason)
    return session, fresh_item(item)


def test_the_rule_reason_is_a_code_shown_in_each_language(board, project):
    session, item = defer_for_no_quorum(board, project)
    assert (item.reason_code, item.reason) == ("no_quorum", "no quorum")
    confirm = [e for e in entries(session) if e.transition == "confirm_decision"][-1]
    assert (confirm.payload["reason"], confirm.payload["reason_code"]) == ("no quorum", "no_quorum")
    committee.session_close(session_id=session.pk, actor=board.chair)
    defer = entries(project)[-1]
    assert (defer.transition, defer.payload["reason"], defer.payload["reason_code"]) == (
        "defer", "no quorum", "no_quorum")

    for language in ("ar", "fr"):
        viewer = reading(board.officer, language)
        session_page = viewer.get(reverse("committees:detail", args=[session.pk])).content.decode()
        history = viewer.get(reverse("projects:detail", args=[project.pk])).content.decode()
        other = NO_QUORUM["fr" if language == "ar" else "ar"]
        for page in (session_page, history):
            assert NO_QUORUM[language] in page, language
            assert other not in page, language


def test_the_minutes_say_the_rule_reason_in_each_half(board, project):
    session, item = defer_for_no_quorum(board, project)
    facts = minutes_facts(session, [item], {item.pk: item_tally(item)})
    for language in ("fr", "ar"):
        with translation.override(language):
            context = _part_context(facts, language)
            html = render_to_string("approvals/minutes_part.html", context)
        # The result line says it ("deferred: quorum not reached…"), in this half's language.
        assert context["rows"][0]["reason"] == ""
        assert context["rows"][0]["result_text"] in html and context["rows"][0]["result_text"]


def test_the_chairs_own_reason_is_shown_as_written(board, project):
    _session, item = defer_for_no_quorum(board, project, reason="Revoir en avril.")
    assert (item.reason_code, item.reason) == ("", "Revoir en avril.")
    with translation.override("ar"):
        assert item.shown_reason == "Revoir en avril."


def test_a_reason_stored_before_the_codes_keeps_its_text():
    with translation.override("ar"):
        assert reason_text("", None, "pas de majorité") == "pas de majorité"
        assert reason_text("no_majority", None, "pas de majorité") == "عدم توفر الأغلبية"


def test_the_migration_gives_old_rule_reasons_their_code(board, project):
    import importlib

    from django.apps import apps

    from approvals.models import AgendaItem

    migration = importlib.import_module("approvals.migrations.0006_agendaitem_reason_code")
    _session, item = defer_for_no_quorum(board, project)
    AgendaItem.objects.filter(pk=item.pk).update(reason_code="", reason="pas de majorité")
    migration.code_the_rule_reasons(apps, None)
    item = fresh_item(item)
    assert (item.reason_code, item.reason) == ("no_majority", "pas de majorité")
    with translation.override("ar"):
        assert item.shown_reason == "عدم توفر الأغلبية"
