"""The stored Merkle tree: tiles of hashes, so that a proof needs O(log n) small reads.

The layout follows the idea of transparency-log tiles (C2SP tlog-tiles). A tile at level
L holds up to 256 consecutive hashes of the tree's nodes at height 8·L: a level-0 tile
holds 256 leaf hashes, a level-1 tile the roots of 256 complete 256-leaf subtrees, a
level-2 tile the roots of 256 complete 65,536-leaf subtrees, and so on. The tile
(L, N) covers the nodes N·256 … N·256+255 of its level. A tile is stored once complete
(``width`` 256) and, while it is the tree's right edge, as partial rows of growing
``width`` — one row each time the integrator commits. Every row is written once and
never changed (``LedgerTile`` is append-only like the other ledger tables): a wider row
of the same tile starts with the same hashes as a narrower one.

Any complete aligned subtree inside the integrated tree is then either a stored hash
(its height a multiple of 8) or the root of at most 128 consecutive hashes of one tile.
The inclusion path of a leaf in a tree of any size up to the integrated one needs one
tile per level for the leaf's side and one per level for the right edge (about six
tiles at five million entries), read in one query.

Nothing read here is trusted: the integrator builds checkpoints from its own frontier,
and every proof built from stored tiles is checked against a signed checkpoint's root
by whoever uses it (``ledger.evidence``, ``tamkeen_verify.verify_proof``). A tile
edited in the database gives a proof that does not verify, never a wrong "intact".
"""

from __future__ import annotations

from django.db.models import OuterRef, Q, Subquery

from ledger.models import LedgerTile
from ledger.tamkeen_verify import node_hash

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
HASH_SIZE = 32


class StoredTreeIncomplete(Exception):
    """The stored tree does not (or no longer) hold a hash a proof needs."""


def perfect_root(hashes: list[bytes]) -> bytes:
    """The root of a complete subtree whose 2^k bottom hashes are ``hashes``."""
    level = hashes
    while len(level) > 1:
        level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def split_hashes(data: bytes) -> list[bytes]:
    return [data[i:i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]


# --- Writing ----------------------------------------------------------------------------


class TileBuilder:
    """The right edge of the stored tree while the integrator appends leaves: the hashes
    of each level's partial tile. ``append`` takes leaf hashes; ``take_rows`` gives the
    rows to insert (the tiles completed since the last call and each level's partial tile
    that grew), to be written in the transaction that places those leaves."""

    def __init__(self, size: int, partial: list[list[bytes]]):
        self.size = size
        self.partial = partial  # partial[L]: the hashes of level L's incomplete tile
        self._full: list[LedgerTile] = []
        self._grown: set[int] = set()

    @classmethod
    def empty(cls) -> TileBuilder:
        return cls(0, [])

    @classmethod
    def load(cls, size: int) -> TileBuilder:
        """The right edge of the stored tree of ``size`` leaves, read from its tiles."""
        partial = []
        level = 0
        while size >> (TILE_HEIGHT * level):
            nodes = size >> (TILE_HEIGHT * level)
            width = nodes % TILE_WIDTH
            hashes = []
            if width:
                hashes = split_hashes(read_tile(level, nodes // TILE_WIDTH, width)[:width * HASH_SIZE])
            partial.append(hashes)
            level += 1
        return cls(size, partial)

    def append(self, leaf: bytes) -> None:
        self.size += 1
        digest, level = leaf, 0
        while True:
            if level == len(self.partial):
                self.partial.append([])
            row = self.partial[level]
            row.append(digest)
            if len(row) < TILE_WIDTH:
                self._grown.add(level)
                return
            index = ((self.size - 1) >> (TILE_HEIGHT * (level + 1)))
            self._full.append(LedgerTile(level=level, index=index, width=TILE_WIDTH, hashes=b"".join(row)))
            self._grown.discard(level)
            digest = perfect_root(row)
            self.partial[level] = []
            level += 1

    def extend(self, leaves) -> None:
        for leaf in leaves:
            self.append(leaf)

    def take_rows(self) -> list[LedgerTile]:
        rows, self._full = self._full, []
        for level in sorted(self._grown):
            hashes = self.partial[level]
            if hashes:
                index = self.size >> (TILE_HEIGHT * (level + 1))
                rows.append(LedgerTile(level=level, index=index, width=len(hashes), hashes=b"".join(hashes)))
        self._grown = set()
        return rows


def stored_size() -> int:
    """How many leaves the stored tree covers (0 when it holds nothing yet)."""
    row = (LedgerTile.objects.filter(level=0).order_by("-index", "-width").values_list("index", "width").first())
    return 0 if row is None else row[0] * TILE_WIDTH + row[1]


def write_rows(rows: list[LedgerTile]) -> None:
    if rows:
        LedgerTile.objects.bulk_create(rows, batch_size=500)


# --- Reading ----------------------------------------------------------------------------


def read_tile(level: int, index: int, width: int) -> bytes:
    """The hashes of tile (level, index), at least ``width`` of them (the widest row)."""
    data = (LedgerTile.objects.filter(level=level, index=index, width__gte=width).order_by("-width")
            .values_list("hashes", flat=True).first())
    if data is None:
        raise StoredTreeIncomplete(f"the stored tree has no tile {level}/{index} of width {width} or more")
    data = bytes(data)
    if len(data) < width * HASH_SIZE:
        raise StoredTreeIncomplete(f"tile {level}/{index} holds {len(data)} bytes, fewer than its width says")
    return data


class StoredTree:
    """Reads of the stored tree for proofs. The complete subtrees a proof needs are
    worked out first, then every tile they lie in is read in one query."""

    def __init__(self):
        self._tiles: dict[tuple[int, int], bytes] = {}

    @staticmethod
    def _where(height: int, index: int) -> tuple[int, int, int, int]:
        """(level, tile, offset, count): where the bottom hashes of a complete subtree are."""
        level, rest = divmod(height, TILE_HEIGHT)
        tile, offset = divmod(index << rest, TILE_WIDTH)
        return level, tile, offset, 1 << rest

    def load(self, nodes) -> None:
        """Read, in one query, the tiles holding the complete subtrees ``nodes``
        ((height, index) pairs): of each tile, its widest row."""
        wanted: dict[tuple[int, int], int] = {}
        for height, index in nodes:
            level, tile, offset, count = self._where(height, index)
            if len(self._tiles.get((level, tile), b"")) < (offset + count) * HASH_SIZE:
                wanted[(level, tile)] = max(wanted.get((level, tile), 0), offset + count)
        if not wanted:
            return
        which = Q()
        for level, tile in wanted:
            which |= Q(level=level, index=tile)
        widest = LedgerTile.objects.filter(level=OuterRef("level"), index=OuterRef("index")).order_by("-width")
        rows = (LedgerTile.objects.filter(which).filter(width=Subquery(widest.values("width")[:1]))
                .values_list("level", "index", "hashes"))
        for level, tile, data in rows:
            self._tiles[(level, tile)] = bytes(data)
        for (level, tile), width in wanted.items():
            data = self._tiles.get((level, tile))
            if data is None:
                raise StoredTreeIncomplete(f"the stored tree has no tile {level}/{tile}")
            if len(data) < width * HASH_SIZE:
                raise StoredTreeIncomplete(f"tile {level}/{tile} holds {len(data) // HASH_SIZE} hashes, fewer than "
                                           f"the {width} needed")

    def node(self, height: int, index: int) -> bytes:
        """The root of the complete subtree of 2^height leaves starting at leaf index·2^height."""
        self.load([(height, index)])
        level, tile, offset, count = self._where(height, index)
        data = self._tiles[(level, tile)]
        return perfect_root(split_hashes(data[offset * HASH_SIZE:(offset + count) * HASH_SIZE]))

    @staticmethod
    def range_nodes(lo: int, hi: int) -> list[tuple[int, int]]:
        """The complete subtrees whose RFC 6962 combination is MTH of the leaves [lo, hi)."""
        n = hi - lo
        if n & (n - 1) == 0 and lo % n == 0:
            return [(n.bit_length() - 1, lo // n)]
        k = 1 << ((n - 1).bit_length() - 1)
        return StoredTree.range_nodes(lo, lo + k) + StoredTree.range_nodes(lo + k, hi)

    def range_root(self, lo: int, hi: int) -> bytes:
        """RFC 6962 MTH of the leaves [lo, hi), from stored complete subtrees."""
        n = hi - lo
        if n & (n - 1) == 0 and lo % n == 0:
            return self.node(n.bit_length() - 1, lo // n)
        k = 1 << ((n - 1).bit_length() - 1)
        return node_hash(self.range_root(lo, lo + k), self.range_root(lo + k, hi))

    @staticmethod
    def _sibling_ranges(index: int, size: int) -> list[tuple[int, int]]:
        if not 0 <= index < size:
            raise ValueError("leaf index outside the tree")
        siblings = []
        lo, hi = 0, size
        while hi - lo > 1:
            k = 1 << ((hi - lo - 1).bit_length() - 1)
            if index < lo + k:
                siblings.append((lo + k, hi))
                hi = lo + k
            else:
                siblings.append((lo, lo + k))
                lo = lo + k
        return siblings[::-1]

    def inclusion_path(self, index: int, size: int) -> list[bytes]:
        """RFC 6962 audit path of leaf ``index`` in the tree of the first ``size`` leaves,
        bottom up (what ``tamkeen_verify.root_from_inclusion_path`` takes)."""
        siblings = self._sibling_ranges(index, size)
        self.load([node for lo, hi in siblings for node in self.range_nodes(lo, hi)])
        return [self.range_root(lo, hi) for lo, hi in siblings]

    def root(self, size: int) -> bytes:
        from ledger.tamkeen_verify import EMPTY_ROOT

        if size == 0:
            return EMPTY_ROOT
        self.load(self.range_nodes(0, size))
        return self.range_root(0, size)
