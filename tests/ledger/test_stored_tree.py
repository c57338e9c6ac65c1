"""The stored Merkle tree (ledger.tree): tiles written as leaves are placed give the same
roots and audit paths as the tree rebuilt from every leaf, for any size up to the
stored one; the integrator writes them, fills them in for a ledger from before them,
and proofs built from them are O(log n) reads. Runs on SQLite and PostgreSQL."""

import contextlib
import hashlib
import io
import json

import pytest
from django.core.management import call_command
from django.db import connection

from core.roles import Role
from ledger.evidence import inclusion_proof, verify_entity_anchored
from ledger.models import AppendOnlyError, AuditEntry, Checkpoint, LedgerLeaf, LedgerTile
from ledger.tamkeen_verify import inclusion_path, merkle_root, root_from_inclusion_path, verify_proof
from ledger.tree import StoredTree, TileBuilder, stored_size, write_rows
from tests._audit_support import chain, committed, integrate_settled, superuser_bypass
from workflow import services

LARGE = 65_536 + 300  # a complete level-1 tile and a partial one on each level


def leaves_of(count):
    return [hashlib.sha256(i.to_bytes(8, "big")).digest() for i in range(count)]


def delete_tiles():
    """Remove the stored tree, as a ledger from before it would be (a superuser's doing on
    PostgreSQL, where triggers refuse it)."""
    bypass = superuser_bypass() if connection.vendor == "postgresql" else contextlib.nullcontext()
    with bypass, connection.cursor() as cursor:
        cursor.execute("DELETE FROM ledger_ledgertile")


@pytest.mark.django_db
def test_tiles_give_every_root_and_audit_path_of_the_tree_at_any_size():
    leaves = leaves_of(LARGE)
    builder = TileBuilder.empty()
    # Committed in uneven batches, and reloaded from the database half-way, as runs do.
    for start, end in [(0, 1), (1, 3), (3, 256), (256, 700), (700, 40_000)]:
        builder.extend(leaves[start:end])
        write_rows(builder.take_rows())
    builder = TileBuilder.load(40_000)
    for start, end in [(40_000, 65_536), (65_536, 65_537), (65_537, LARGE)]:
        builder.extend(leaves[start:end])
        write_rows(builder.take_rows())
    assert stored_size() == LARGE
    # The level-1 tile of the first 65,536 leaves is complete; each level's right edge is partial.
    assert set(LedgerTile.objects.filter(width=256).values_list("level", flat=True)) == {0, 1}
    assert LedgerTile.objects.get(level=2, index=0).width == 1

    tree = StoredTree()
    for size in [1, 2, 3, 255, 256, 257, 700, 65_535, 65_536, 65_537, LARGE]:
        assert tree.root(size) == merkle_root(leaves[:size]), size
        for index in {i for i in (0, 1, size // 3, size - 2, size - 1) if 0 <= i < size}:
            path = tree.inclusion_path(index, size)
            if size <= 700:
                assert path == inclusion_path(leaves[:size], index), (size, index)
            assert root_from_inclusion_path(leaves[index], index, size, path) == merkle_root(leaves[:size])


@pytest.mark.django_db
def test_a_proof_reads_a_few_tiles_not_the_leaves(django_assert_max_num_queries):
    builder = TileBuilder.empty()
    builder.extend(leaves_of(LARGE))
    write_rows(builder.take_rows())
    with django_assert_max_num_queries(6):  # one tile per level for the leaf, one per level for the edge
        StoredTree().inclusion_path(12_345, LARGE)


@pytest.mark.django_db
def test_tiles_are_append_only_in_the_model_layer():
    builder = TileBuilder.empty()
    builder.extend(leaves_of(3))
    write_rows(builder.take_rows())
    tile = LedgerTile.objects.get()
    with pytest.raises(AppendOnlyError):
        tile.save()
    with pytest.raises(AppendOnlyError):
        tile.delete()
    with pytest.raises(AppendOnlyError):
        LedgerTile.objects.update(width=2)


@committed
def test_the_integrator_writes_the_tree_and_proofs_come_from_it(make_project, cast, django_assert_max_num_queries):
    project = make_project("approved")
    make_project("submitted")
    result = integrate_settled(force_checkpoint=True)
    size = result.tree_size
    assert stored_size() == size == LedgerLeaf.objects.count()
    hashes = [bytes.fromhex(h) for h in LedgerLeaf.objects.order_by("index").values_list("entry__entry_hash",
                                                                                       flat=True)]
    leaves = [hashlib.sha256(b"\x00" + h).digest() for h in hashes]
    assert StoredTree().root(size).hex() == result.checkpoint.root_hash == merkle_root(leaves).hex()

    decision = next(e for e in chain(project) if e.transition == "decide_approve")
    with django_assert_max_num_queries(8):
        proof = inclusion_proof(decision.pk)
    assert proof["path"] == [__import__("base64").b64encode(h).decode()
                             for h in inclusion_path(leaves, decision.leaf.index)]
    assert verify_proof(proof) == []

    # Later entries grow the tree; a proof against the older checkpoint still holds.
    services.project_suspend(project_id=project.pk, actor=cast.officer, reason="Contrôle.")
    integrate_settled()
    assert stored_size() == size + 1
    assert verify_proof(inclusion_proof(decision.pk)) == []


@committed
def test_batches_sign_a_checkpoint_every_n_entries_with_the_tree_alongside(make_project):
    make_project("submitted")
    first = integrate_settled(force_checkpoint=True).checkpoint
    for state in ("approved", "eligible", "draft"):
        make_project(state)
    total = AuditEntry.objects.count()
    result = integrate_settled(every_entries=10, every_seconds=3600, batch=4)
    assert result.integrated == total - first.size and result.tree_size == total
    sizes = list(Checkpoint.objects.order_by("size").values_list("size", flat=True))
    assert sizes == list(range(first.size, total + 1, 10))
    assert result.checkpoints == len(sizes) - 1 and result.checkpoint.size == sizes[-1]
    tree = StoredTree()
    for checkpoint in Checkpoint.objects.all():
        assert tree.root(checkpoint.size).hex() == checkpoint.root_hash
    from ledger.evidence import verify_database

    assert verify_database(full=True).ok


@committed
def test_a_ledger_from_before_the_stored_tree_gets_it_filled_in(client, make_project, make_user):
    project = make_project("approved")
    integrate_settled(force_checkpoint=True)
    delete_tiles()
    assert stored_size() == 0
    # Before the integrator's next run, "Verify now" still anchors the chain (from the leaves).
    report, checkpoint = verify_entity_anchored(project)
    assert report.ok and checkpoint is not None and report.uncheckpointed == 0
    out = io.StringIO()
    err = io.StringIO()
    call_command("audit", "checkpoint", stdout=out, stderr=err)
    size = LedgerLeaf.objects.count()
    assert f"stored tree filled in for {size} entries" in out.getvalue()
    assert f"stored tree: {size:,}/{size:,} entries" in err.getvalue()
    assert stored_size() == size
    assert StoredTree().root(size).hex() == Checkpoint.objects.get().root_hash
    decision = next(e for e in chain(project) if e.transition == "decide_approve")
    assert verify_proof(inclusion_proof(decision.pk)) == []

    auditor = make_user(Role.AUDITOR)
    client.force_login(auditor)
    body = client.post(f"/projects/{project.pk}/verify/", follow=True).content.decode()
    assert "anchored in the signed checkpoint" in body


@committed
def test_verify_now_proves_the_newest_anchored_entry_in_a_few_queries(make_project, django_assert_max_num_queries):
    project = make_project("approved")
    for state in ("eligible", "draft", "submitted"):
        make_project(state)
    integrate_settled(force_checkpoint=True)
    report, checkpoint = verify_entity_anchored(project)
    assert report.ok and report.uncheckpointed == 0
    assert json.loads(bytes(checkpoint.canonical))["size"] == LedgerLeaf.objects.count()
    # The same number of queries whatever the size of the ledger: its chain, the keys,
    # the checkpoint and a few tiles.
    with django_assert_max_num_queries(30) as captured:
        verify_entity_anchored(project)
    assert not any("workflow_ledgerleaf" in q["sql"] and "entry_hash" in q["sql"] and "entity_id" not in q["sql"]
                   for q in captured.captured_queries)
