"""The project page shows its audit chain's verification; auditors can verify it now."""

from contextlib import nullcontext

import pytest
from django.db import connection

from core.roles import Role
from ledger.models import AuditEntry, StoredVerification
from tests._audit_support import committed, integrate_settled, superuser_bypass  # noqa: F401 (fixture)


@pytest.fixture
def auditor(make_user):
    return make_user(Role.AUDITOR)


def page(client, user, project):
    client.force_login(user)
    return client.get(f"/projects/{project.pk}/")


def test_an_intact_chain_is_shown_verified(client, make_project, auditor):
    project = make_project("eligible")
    response = page(client, auditor, project)
    assert response.status_code == 200
    body = response.content.decode()
    assert "tamkeen-verification--ok" in body
    assert "has not been verified yet" in body  # only the entries shown were checked
    assert "Verify now" in body
    client.post(f"/projects/{project.pk}/verify/")
    body = page(client, auditor, project).content.decode()
    assert "6 signed entries verified" in body  # create, three documents, submit, screen_ok
    assert f"by {auditor}" in body


def test_verify_now_stores_its_result(client, make_project, auditor):
    project = make_project("eligible")
    client.force_login(auditor)
    client.post(f"/projects/{project.pk}/verify/")
    stored = StoredVerification.objects.get(entity_type="workflow.grantproject", entity_id=str(project.pk))
    assert (stored.ok, stored.entries, stored.last_seq, stored.source, stored.verified_by) == (
        True, 6, 6, "verify_now", auditor)
    assert stored.last_hash == AuditEntry.objects.for_entity(project).get(seq=6).entry_hash
    assert stored.problems == []


def test_a_committee_member_sees_the_status_but_not_the_button(client, make_project, make_user):
    project = make_project("eligible")
    member = make_user(Role.COMMITTEE_MEMBER)
    body = page(client, member, project).content.decode()
    assert "tamkeen-verification--ok" in body
    assert "Verify now" not in body
    client.force_login(member)
    assert client.post(f"/projects/{project.pk}/verify/").status_code == 403


@committed  # the integrator takes only entries of committed transactions
def test_verify_now_anchors_the_chain_in_the_signed_checkpoint(client, make_project, auditor):
    project = make_project("in_committee")
    integrate_settled(force_checkpoint=True)
    client.force_login(auditor)
    response = client.post(f"/projects/{project.pk}/verify/", follow=True)
    body = response.content.decode()
    assert "7 entries verified" in body  # create, three documents, submit, screen_ok, schedule
    assert "anchored in the signed checkpoint" in body
    assert "0 not yet in a checkpoint" in body


def test_verify_now_says_when_nothing_is_checkpointed_yet(client, make_project, auditor):
    project = make_project("submitted")
    client.force_login(auditor)
    body = client.post(f"/projects/{project.pk}/verify/", follow=True).content.decode()
    assert "no signed checkpoint yet" in body


def test_a_tampered_entry_is_shown_not_intact_and_named(client, make_project, auditor):
    project = make_project("eligible")
    entry = AuditEntry.objects.for_entity(project).get(transition="submit")
    forged = bytes(entry.canonical).replace(b'"submit"', b'"resubmit"')
    # On PostgreSQL the append-only triggers refuse the edit unless a superuser disables them.
    bypass = superuser_bypass() if connection.vendor == "postgresql" else nullcontext()
    with bypass, connection.cursor() as cursor:
        cursor.execute("UPDATE workflow_auditentry SET canonical = %s WHERE id = %s", [forged, entry.pk])
    body = page(client, auditor, project).content.decode()
    assert "tamkeen-verification--bad" in body
    assert f"seq {entry.seq}" in body
    client.force_login(auditor)
    body = client.post(f"/projects/{project.pk}/verify/", follow=True).content.decode()
    assert "Audit chain NOT intact" in body
    # The stored result says it too, with the problem's code and entry.
    assert "the latest verification found this audit chain NOT intact" in body
    stored = StoredVerification.objects.get(entity_id=str(project.pk), entity_type="workflow.grantproject")
    assert not stored.ok
    assert ("hash_mismatch", entry.pk, entry.seq) in [
        (problem["code"], problem.get("entry_id"), problem.get("seq")) for problem in stored.problems]
