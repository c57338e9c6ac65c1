"""A chain's verification skips the Ed25519 checks of the signatures its previous
verification checked, while the server's seal of them still matches
(``StoredVerification.signatures_seal``, ``ledger.evidence.signature_seal``): every other
check is made, new entries' signatures are checked, and anything edited in the database
— an entry's signature, the seal itself — or another server secret means a full check."""

import contextlib

import pytest
from django.db import connection
from django.urls import reverse

from core.roles import Role
from ledger.models import AuditEntry, StoredVerification
from ledger.services import chain_verify
from tests._audit_support import superuser_bypass
from workflow import services
from workflow.models import GrantProject

pytestmark = pytest.mark.django_db


def execute(sql, params):
    bypass = superuser_bypass() if connection.vendor == "postgresql" else contextlib.nullcontext()
    with bypass, connection.cursor() as cursor:
        cursor.execute(sql, params)


def stored(project) -> StoredVerification:
    return StoredVerification.objects.get(entity_type="workflow.grantproject", entity_id=str(project.pk))


def test_a_second_verification_checks_only_what_the_seal_does_not_cover(make_project, cast):
    project = make_project("approved")
    entries = AuditEntry.objects.for_entity(project).count()

    first = chain_verify(project)
    assert first.stored.ok and (first.report.signatures_checked, first.report.signatures_known) == (entries, 0)
    assert first.stored.signatures_sealed == entries and len(first.stored.signatures_seal) == 64

    again = chain_verify(project)
    assert again.stored.ok and (again.report.signatures_checked, again.report.signatures_known) == (0, entries)

    services.project_suspend(project_id=project.pk, actor=cast.officer, reason="Contrôle sur place.")
    grown = chain_verify(GrantProject.objects.get(pk=project.pk))
    assert grown.stored.ok
    assert (grown.report.signatures_checked, grown.report.signatures_known) == (1, entries)
    assert grown.stored.signatures_sealed == entries + 1


def test_a_signature_edited_after_the_seal_is_checked_and_found(make_project):
    project = make_project("approved")
    chain_verify(project)
    target = AuditEntry.objects.for_entity(project).get(seq=2)
    signature = bytearray(bytes(target.signature))
    signature[5] ^= 1
    execute("UPDATE workflow_auditentry SET signature = %s WHERE id = %s", [bytes(signature), target.pk])

    verified = chain_verify(project)

    assert verified.report.signatures_known == 0  # the seal no longer matches: every signature checked
    assert [(p.code, p.entry_id) for p in verified.report.problems] == [("bad_signature", target.pk)]
    assert not verified.stored.ok and (verified.stored.signatures_sealed, verified.stored.signatures_seal) == (0, "")


@pytest.mark.parametrize("forge", ["seal", "count", "secret"])
def test_a_seal_this_server_did_not_make_means_a_full_check(make_project, settings, forge):
    project = make_project("approved")
    entries = AuditEntry.objects.for_entity(project).count()
    chain_verify(project)
    row = stored(project)
    if forge == "seal":
        StoredVerification.objects.filter(pk=row.pk).update(signatures_seal="0" * 64)
    elif forge == "count":  # a seal of fewer entries than it says
        StoredVerification.objects.filter(pk=row.pk).update(signatures_sealed=entries - 1)
    else:
        settings.SECRET_KEY = "another server's secret, not this one's"

    verified = chain_verify(project)

    assert verified.stored.ok
    assert (verified.report.signatures_checked, verified.report.signatures_known) == (entries, 0)


def test_verify_now_says_how_many_signatures_it_did_not_check_again(client, make_project, make_user):
    from django.contrib import messages

    project = make_project("approved")
    entries = AuditEntry.objects.for_entity(project).count()
    client.force_login(make_user(Role.AUDITOR, username="auditor-seal"))
    url = reverse("projects:verify", args=[project.pk])

    first = list(client.post(url, follow=True).context["messages"])
    second = list(client.post(url, follow=True).context["messages"])

    assert [m for m in first if m.level == messages.INFO] == []
    told = [str(m) for m in second if m.level == messages.INFO]
    assert len(told) == 1 and f"{entries}" in told[0] and "0" in told[0], told
