"""The stored tree on PostgreSQL: its rows refuse UPDATE, DELETE and TRUNCATE, and a node
changed by a superuser who disables the triggers gives a proof that fails — `audit
prove` and "Verify now" say so (never a crash, never "intact")."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from core.roles import Role
from ledger.evidence import verify_entity_anchored
from ledger.models import AuditEntry
from ledger.tree import TILE_WIDTH
from tests._audit_support import committed, integrate_settled, superuser_bypass

pytestmark = [pytest.mark.postgres]


def execute(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@committed
def test_tile_rows_refuse_update_delete_and_truncate(make_project):
    make_project("submitted")
    integrate_settled(force_checkpoint=True)
    for sql in ("UPDATE ledger_ledgertile SET width = width", "DELETE FROM ledger_ledgertile",
                "TRUNCATE ledger_ledgertile"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            execute(sql)


def tamper_sibling_of(index):
    """Flip one bit of the stored hash next to leaf ``index`` (its audit path's first
    hash), in every row of its level-0 tile."""
    sibling = index ^ 1
    offset = (sibling % TILE_WIDTH) * 32 + 1  # bytea positions count from 1
    with superuser_bypass():
        execute(
            "UPDATE ledger_ledgertile SET hashes = set_byte(hashes, %s - 1, get_byte(hashes, %s - 1) # 1) "
            "WHERE level = 0 AND index = %s AND width > %s",
            [offset, offset, index // TILE_WIDTH, sibling % TILE_WIDTH],
        )


@committed
def test_a_tampered_node_fails_the_proof_and_verify_now(make_project, client, make_user, tmp_path):
    project = make_project("approved")
    make_project("submitted")  # a sibling leaf after the project's last entry
    integrate_settled(force_checkpoint=True)
    newest = AuditEntry.objects.for_entity(project).select_related("leaf").order_by("-seq").first()
    call_command("audit", "prove", str(newest.pk), str(tmp_path / "good.json"), stdout=io.StringIO())
    report, _checkpoint = verify_entity_anchored(project)
    assert report.ok

    tamper_sibling_of(newest.leaf.index)

    with pytest.raises(CommandError, match="NO valid proof") as raised:
        call_command("audit", "prove", str(newest.pk), str(tmp_path / "bad.json"), stdout=io.StringIO())
    assert raised.value.returncode == 1
    assert not (tmp_path / "bad.json").exists()
    report, _checkpoint = verify_entity_anchored(project)
    assert [(p.code, p.entry_id, p.index) for p in report.problems] == [
        ("proof_path_invalid", newest.pk, newest.leaf.index)]

    client.force_login(make_user(Role.AUDITOR))
    response = client.post(f"/projects/{project.pk}/verify/", follow=True)
    assert response.status_code == 200
    assert "Audit chain NOT intact" in response.content.decode()


@committed
def test_deleted_tiles_are_reported_not_a_crash(make_project, tmp_path):
    project = make_project("approved")
    integrate_settled(force_checkpoint=True)
    newest = AuditEntry.objects.for_entity(project).order_by("-seq").first()
    with superuser_bypass():
        execute("DELETE FROM ledger_ledgertile WHERE level = 0 AND width < %s", [TILE_WIDTH])
        # A stub row that still claims the size: the tile's hashes are gone.
        execute("INSERT INTO ledger_ledgertile (level, index, width, hashes) VALUES (0, 0, 255, '')")
    report, _checkpoint = verify_entity_anchored(project)
    assert [p.code for p in report.problems] == ["proof_path_invalid"]
    assert "tiles were deleted" in report.problems[0].message
    with pytest.raises(CommandError, match="stored tree cannot give this proof"):
        call_command("audit", "prove", str(newest.pk), str(tmp_path / "p.json"), stdout=io.StringIO())
