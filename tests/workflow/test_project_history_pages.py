"""The file page at scale (issue 16): its history is shown twenty entries at a time
(keyset on the sequence number: ``?before=SEQ``), what the page derives from the whole
history (the states visited, the documents' seals, the letters) is read by targeted
queries, and the chain's whole verification is the stored one ("Verify now" or the
scheduled verification) while the entries shown are checked on every view."""

import re
from contextlib import nullcontext

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.roles import Role
from ledger.integrator import integrate
from ledger.models import AuditEntry, StoredVerification
from ledger.services import chain_verify, chains_verify_changed
from ledger.tasks import verify_changed_chains
from tests._audit_support import superuser_bypass
from tests._web import unisolated
from workflow import services
from workflow.models import GrantProject

pytestmark = pytest.mark.django_db

ROW = re.compile(r'<td data-entry="(\d+)">')


def grow(project, actor, pairs):
    """Suspend and resume the file ``pairs`` times: two entries each."""
    for _ in range(pairs):
        services.project_suspend(project_id=project.pk, actor=actor, reason="Contrôle sur place.")
        services.project_resume(project_id=project.pk, actor=actor)
    return GrantProject.objects.get(pk=project.pk)


def fetch(client, project, query=""):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("projects:detail", args=[project.pk]) + query)
    return response, len(captured.captured_queries)


def shown_seqs(html, project):
    ids = [int(pk) for pk in ROW.findall(html)]
    by_id = dict(AuditEntry.objects.filter(pk__in=ids).values_list("pk", "seq"))
    return [by_id[pk] for pk in ids]


def tamper(entry):
    """Edit an entry's signed bytes in place, as someone with the database could."""
    forged = bytes(entry.canonical).replace(b'"reason":"', b'"reason":"X')
    assert forged != bytes(entry.canonical)
    bypass = superuser_bypass() if connection.vendor == "postgresql" else nullcontext()
    with bypass, connection.cursor() as cursor:
        cursor.execute("UPDATE workflow_auditentry SET canonical = %s WHERE id = %s", [forged, entry.pk])


@pytest.fixture
def long_file(make_project, cast):
    """An approved file with 208 entries (8, then 100 suspensions and resumptions)."""
    return grow(make_project("approved"), cast.officer, 100)


def test_a_short_and_a_long_history_cost_the_same_queries_and_a_bounded_page(client, cast, make_project):
    short = make_project("submitted")  # create, three documents, submit: 5 entries
    medium = grow(make_project("submitted"), cast.officer, 20)  # 45 entries: a full page too
    long_file = grow(make_project("submitted"), cast.officer, 100)  # 205 entries
    client.force_login(cast.officer)
    fetch(client, short)  # warm the per-process caches

    short_response, short_queries = fetch(client, short)
    medium_response, _ = fetch(client, medium)
    long_response, long_queries = fetch(client, long_file)

    assert long_file.audit_seq == 205 and short.audit_seq == 5
    assert short_queries == long_queries
    short_html, medium_html, long_html = (r.content.decode() for r in (short_response, medium_response, long_response))
    assert len(ROW.findall(short_html)) == 5
    assert shown_seqs(long_html, long_file) == list(range(186, 206))  # the newest twenty, in chain order
    # Two full pages weigh the same whatever lies behind them (a few digits more at most).
    assert abs(len(long_html) - len(medium_html)) < 1000
    assert len(long_html) < 200_000


def test_the_file_page_reads_the_signing_keys_once(client, cast, make_project):
    # The entries shown are checked with every key, the checkpoints anchoring them with the
    # keys the root certified: both sets come from one read of the keys.
    project = make_project("approved")
    integrate(force_checkpoint=True)
    client.force_login(cast.officer)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse("projects:detail", args=[project.pk])).status_code == 200
    reads = [q["sql"] for q in captured.captured_queries if 'FROM "workflow_signingkey"' in q["sql"]]
    assert len(reads) == 1, reads


def test_older_entries_are_paged_by_sequence_number(client, cast, long_file):
    client.force_login(cast.officer)
    newest = unisolated(fetch(client, long_file)[0].content.decode())
    assert 'href="?before=189#history"' in newest and "Older entries" in newest
    assert "Newer entries" not in newest and "Newest entries" not in newest
    assert "Entries 189 to 208 of 208" in newest

    response, queries = fetch(client, long_file, "?before=189")
    older = response.content.decode()
    assert shown_seqs(older, long_file) == list(range(169, 189))
    assert 'href="?before=169#history"' in older and 'href="?before=209#history"' in older
    assert "Newest entries" in older

    first = fetch(client, long_file, "?before=21")[0].content.decode()
    assert shown_seqs(first, long_file) == list(range(1, 21))
    assert "Older entries" not in first  # the chain starts on this page
    assert fetch(client, long_file, "?before=21")[1] == fetch(client, long_file, "?before=189")[1] == queries


@pytest.mark.parametrize("before", ["abc", "0", "-3", "1e9", "99999999999999"])
def test_a_malformed_position_is_a_coded_error_with_the_newest_entries(client, cast, make_project, before):
    project = make_project("eligible")
    client.force_login(cast.officer)
    response = fetch(client, project, f"?before={before}")[0]
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-code="invalid_input"' in html
    assert "is not a position in the file&#x27;s history" in html
    assert len(ROW.findall(html)) == 6


def test_what_the_page_derives_from_the_whole_history_does_not_need_it_on_the_page(client, cast, make_project):
    """The decision, the states passed and the documents' seals are older than the page."""
    project = grow(make_project("approved"), cast.officer, 12)
    client.force_login(cast.officer)
    html = fetch(client, project)[0].content.decode()
    assert 1 not in shown_seqs(html, project)  # the documents' and the decision's entries are on older pages
    assert html.count("✔ sealed in entry") == 3
    for passed in ("submitted", "eligible", "in_committee"):
        node = re.search(rf'<g class="([^"]*)" data-state="{passed}"', html)
        assert "lc-node--visited" in node[1].split()
    try:
        letter = reverse("projects:decision_letter", args=[project.pk])
    except Exception:
        letter = None
    if letter:
        assert letter in html


def test_entries_written_after_the_stored_verification_are_said_not_yet_verified(client, cast, make_project,
                                                                                 make_user):
    project = make_project("approved")
    chain_verify(project, actor=make_user(Role.AUDITOR))
    project = grow(project, cast.officer, 1)
    client.force_login(cast.officer)
    html = fetch(client, project)[0].content.decode()
    assert "Chain verified." in html and "8 signed entries verified" in html
    assert "2 entries written since, not yet verified with the whole chain." in html
    assert html.count('class="tamkeen-entry-unverified"') == 2


def test_a_tampered_entry_outside_the_page_shown_needs_verify_now(client, cast, long_file, make_user):
    auditor = make_user(Role.AUDITOR)
    old = AuditEntry.objects.for_entity(long_file).get(seq=19)  # a suspension, on an older page
    tamper(old)
    client.force_login(auditor)

    newest = fetch(client, long_file)[0].content.decode()
    assert "NOT intact" not in newest  # not shown, not checked on view...
    assert "has not been verified yet" in newest

    older = fetch(client, long_file, "?before=21")[0].content.decode()  # ...but flagged where it is shown
    assert "this audit chain is NOT intact" in older
    row = re.search(rf'<tr class="([^"]*)">\s*<td data-entry="{old.pk}">', older)
    assert row and "tamkeen-timeline-entry--bad" in row[1]

    client.post(reverse("projects:verify", args=[long_file.pk]))  # the auditor's "Verify now"
    newest = fetch(client, long_file)[0].content.decode()
    assert "the latest verification found this audit chain NOT intact" in newest
    assert 'data-code="hash_mismatch"' in newest and "seq 19" in newest


def test_a_chain_cut_short_is_flagged_on_the_newest_page(client, cast, make_project):
    project = make_project("approved")
    last = AuditEntry.objects.for_entity(project).order_by("-seq").first()
    bypass = superuser_bypass() if connection.vendor == "postgresql" else nullcontext()
    with bypass, connection.cursor() as cursor:
        cursor.execute("DELETE FROM workflow_auditentry WHERE id = %s", [last.pk])
    client.force_login(cast.officer)
    html = fetch(client, project)[0].content.decode()
    assert "this audit chain is NOT intact" in html
    assert 'data-code="live_head_mismatch"' in html or 'data-code="live_state_mismatch"' in html


def test_the_scheduled_verification_takes_the_chains_that_grew_in_bounded_batches(cast, make_project):
    first, second = make_project("eligible"), make_project("submitted")
    StoredVerification.objects.all().delete()

    done = chains_verify_changed(batch=1)
    assert len(done) == 1
    result = verify_changed_chains(batch=100)  # the beat task: every other chain never verified
    assert result["not_intact"] == []
    verified = {(row.entity_type, row.entity_id): row for row in StoredVerification.objects.all()}
    for project in (first, second):
        row = verified[("workflow.grantproject", str(project.pk))]
        assert row.ok and row.source == "scheduled" and row.verified_by is None
        assert row.last_seq == GrantProject.objects.get(pk=project.pk).audit_seq
    assert chains_verify_changed(batch=100) == []  # nothing grew since

    grown = grow(make_project("approved"), cast.officer, 0)
    again = chains_verify_changed(batch=100)
    assert ("workflow.grantproject", str(grown.pk), True) in again
    assert ("workflow.grantproject", str(first.pk), True) not in again


def test_the_scheduled_verification_stops_taking_chains_when_its_time_is_spent(cast, make_project):
    for _ in range(5):
        make_project("eligible")
    StoredVerification.objects.all().delete()
    ticks = iter(range(100))  # a clock that moves one second per reading

    done = chains_verify_changed(batch=100, seconds=2.5, clock=lambda: next(ticks))
    # The deadline is read before the first chain, then after each: 0 → 1, 2, 3 (past 2.5).
    assert len(done) == 3
    pending = chains_verify_changed(batch=100)
    assert len(pending) > 0 and not {pair[:2] for pair in done} & {pair[:2] for pair in pending}


def test_the_scheduled_verification_makes_progress_whatever_its_time(cast, make_project):
    make_project("eligible")
    StoredVerification.objects.all().delete()
    assert len(chains_verify_changed(batch=100, seconds=0)) == 1


def test_a_chain_cut_short_is_verified_once_per_run(cast, make_project):
    project = make_project("approved")
    last = AuditEntry.objects.for_entity(project).order_by("-seq").first()
    bypass = superuser_bypass() if connection.vendor == "postgresql" else nullcontext()
    with bypass, connection.cursor() as cursor:
        cursor.execute("DELETE FROM workflow_auditentry WHERE id = %s", [last.pk])
    StoredVerification.objects.all().delete()
    done = chains_verify_changed(batch=10_000)
    # Its stored result stays behind its row's head (audit_seq), yet one run takes it once.
    assert done.count(("workflow.grantproject", str(project.pk), False)) == 1
    stored = StoredVerification.objects.get(entity_type="workflow.grantproject", entity_id=str(project.pk))
    assert not stored.ok and stored.last_seq < GrantProject.objects.get(pk=project.pk).audit_seq


def test_the_scheduled_verification_is_in_the_beat_schedule(settings):
    from celery import current_app

    entries = [entry for entry in settings.CELERY_BEAT_SCHEDULE.values()
               if entry["task"] == "ledger.tasks.verify_changed_chains"]
    assert len(entries) == 1 and entries[0]["kwargs"]["batch"] > 0 and entries[0]["kwargs"]["seconds"] > 0
    assert "ledger.tasks.verify_changed_chains" in current_app.tasks


def test_a_chain_found_broken_alerts_the_auditors_once(cast, make_project, make_user):
    """The scheduled verification runs unattended: a chain it finds broken is told to
    every auditor (a ledger alert, with the problem and a link to the file), once, not
    at every re-verification; an intact chain alerts nobody."""
    from notifications.messages import notification_text
    from notifications.models import Notification, NotificationKind

    auditors = [make_user(Role.AUDITOR, username="auditor-a"), make_user(Role.AUDITOR, username="auditor-b")]
    make_project("eligible")  # an intact chain, verified too: it alerts nobody
    broken = make_project("approved")
    StoredVerification.objects.all().delete()
    target = AuditEntry.objects.for_entity(broken).get(seq=2)
    bypass = superuser_bypass() if connection.vendor == "postgresql" else nullcontext()
    with bypass, connection.cursor() as cursor:
        cursor.execute("UPDATE workflow_auditentry SET canonical = %s WHERE id = %s",
                       [bytes(target.canonical).replace(b'"seq":2', b'"seq":2 '), target.pk])

    result = verify_changed_chains(batch=100)

    assert result["not_intact"] == [f"workflow.grantproject#{broken.pk}"]
    alerts = Notification.objects.filter(kind=NotificationKind.LEDGER_ALERT, template="chain_alert")
    assert sorted(alerts.values_list("recipient_id", flat=True)) == sorted(a.pk for a in auditors)
    alert = alerts.first()
    assert alert.params["entity_id"] == str(broken.pk) and alert.params["code"]
    assert alert.link == reverse("projects:detail", args=[broken.pk])
    subject, body = notification_text(alert, language="en")
    assert "does not verify" in subject and f"#{broken.pk}" in body and alert.params["code"] in body

    chain_verify(GrantProject.objects.get(pk=broken.pk))  # found broken again: no second alert
    assert alerts.count() == 2
