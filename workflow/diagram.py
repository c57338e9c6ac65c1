"""The project lifecycle as a diagram, read from the model's django-fsm transitions.

Nothing here is drawn by hand: the states, their order and every arrow come from
``GrantProject.state``'s transitions, so the picture cannot drift from the machine.

- A state's *rank* is its distance from the initial state along the transitions.
- The *main path* is the chain of states leading to the farthest state; the other
  states of a rank are *side states*, drawn beside it.
- A transition with many sources (``withdraw``, ``suspend``) starts from one
  "any active state" box instead of a dozen arrows; a transition that returns to one
  of those sources (``resume``, a ``RETURN_VALUE`` target) goes back to that box.

``lifecycle_diagram(current=..., visited=..., rtl=...)`` returns the geometry the
template ``workflow/includes/lifecycle_diagram.html`` draws as an inline SVG, and the
text alternative (states in order, transitions with their sources and targets).
"""

from collections import deque
from dataclasses import dataclass, field
from functools import lru_cache

from django.utils.translation import gettext_lazy as _

from workflow.models import GrantProject, ProjectState
from workflow.selectors import TRANSITION_LABELS

# A transition leaving more states than this is drawn from the "any state" box.
MANY_SOURCES = 4

BOX_W, BOX_H = 156, 32
ROW = 54  # vertical pitch of the ranks
COLUMN = 206  # horizontal pitch of the columns
LEFT = 150  # room left of the main column for the arrows going back and their labels
RIGHT = 110  # room right of the last column for the labels of the arrows into it
TOP = 12
ANY = "*"  # the node standing for the many-source transitions' sources


@dataclass(frozen=True)
class Transition:
    name: str
    sources: tuple[str, ...]
    targets: tuple[str, ...]


@dataclass(frozen=True)
class Machine:
    """The machine as the diagram sees it, in lifecycle order."""

    initial: str
    states: tuple[str, ...]  # lifecycle order: by rank, the main path first
    rank: dict
    main_path: tuple[str, ...]
    transitions: tuple[Transition, ...]
    many_sources: frozenset  # the sources shared by the many-source transitions


def _fsm_transitions(model=GrantProject, field_name="state"):
    """{name: (sources, targets)} from django-fsm's own registry."""
    state_field = model._meta.get_field(field_name)
    every_state = [value for value, _label in state_field.choices]
    found: dict[str, tuple[set, set]] = {}
    for transition in state_field.get_all_transitions(model):
        if transition.target is None:
            continue  # records an act (an edit, a document) without moving the file: no arrow
        sources, targets = found.setdefault(transition.name, (set(), set()))
        source = transition.source
        sources.update(every_state if source in ("*", "+") else [source])
        target = transition.target
        allowed = getattr(target, "allowed_states", None)
        if allowed is not None:
            targets.update(allowed)
        elif isinstance(target, str):
            targets.add(target)
        else:  # GET_STATE without a declared set: any state
            targets.update(every_state)
    return state_field.default, every_state, found


@lru_cache(maxsize=8)
def machine(model=GrantProject, field_name: str = "state") -> Machine:
    """The machine of ``model.<field_name>`` (the grant project's by default)."""
    initial, every_state, found = _fsm_transitions(model, field_name)
    order = {state: i for i, state in enumerate(every_state)}
    transitions = tuple(
        Transition(name, tuple(sorted(s, key=order.get)), tuple(sorted(t, key=order.get)))
        for name, (s, t) in sorted(found.items())
    )
    many = [t for t in transitions if len(t.sources) >= MANY_SOURCES]
    shared = frozenset(set.intersection(*(set(t.sources) for t in many))) if many else frozenset()
    # Ranks: breadth-first from the initial state over the ordinary transitions.
    edges: dict[str, list[str]] = {}
    for t in transitions:
        if t in many or set(t.targets) >= shared and len(t.targets) >= MANY_SOURCES:
            continue
        for source in t.sources:
            edges.setdefault(source, []).extend(t.targets)
    rank = {initial: 0}
    queue = deque([initial])
    while queue:
        state = queue.popleft()
        for target in sorted(edges.get(state, []), key=order.get):
            if target not in rank:
                rank[target] = rank[state] + 1
                queue.append(target)
    # States only the many-source transitions reach come after everything else.
    last = max(rank.values())
    for state in every_state:
        rank.setdefault(state, last + 1)
    # The main path: from the deepest state reached, back to the initial state.
    parents = {state: [s for s in every_state if state in edges.get(s, []) and rank[s] == rank[state] - 1]
               for state in every_state}
    tip = max((s for s in every_state if rank[s] <= last), key=lambda s: (rank[s], -order[s]))
    path = [tip]
    while path[-1] != initial:
        path.append(parents[path[-1]][0])
    main_path = tuple(reversed(path))
    states = tuple(sorted(every_state, key=lambda s: (rank[s], s not in main_path, order[s])))
    return Machine(initial, states, rank, main_path, transitions, shared)


@dataclass
class Node:
    state: str
    label: str
    x: int
    y: int
    current: bool = False
    visited: bool = False
    main: bool = False
    terminal: bool = False
    is_any: bool = False

    @property
    def cx(self):
        return self.x + BOX_W // 2

    @property
    def cy(self):
        return self.y + BOX_H // 2

    @property
    def css_class(self):
        classes = ["lc-node"]
        if self.main:
            classes.append("lc-node--main")
        if self.terminal:
            classes.append("lc-node--terminal")
        if self.is_any:
            classes.append("lc-node--any")
        if self.visited:
            classes.append("lc-node--visited")
        if self.current:
            classes.append("lc-node--current")
        return " ".join(classes)


@dataclass
class Edge:
    name: str
    label: str
    source: str
    target: str
    path: str
    label_x: int
    label_y: int
    anchor: str = "middle"
    back: bool = False


@dataclass
class Diagram:
    width: int
    height: int
    nodes: list
    edges: list
    rtl: bool
    current: str
    current_label: str
    states: list = field(default_factory=list)  # text alternative: [(label, current, visited, terminal)]
    transitions: list = field(default_factory=list)  # text alternative: [(label, sources, targets)]


def _terminal_states(m: Machine) -> set:
    leaving = {s for t in m.transitions for s in t.sources}
    return {s for s in m.states if s not in leaving}


def _place(m: Machine) -> dict:
    """{state or ANY: (column, row)}: the main path in column 0, one row per rank."""
    places = {}
    taken = set()
    for state in m.main_path:
        places[state] = (0, m.rank[state])
        taken.add((0, m.rank[state]))
    only_many = {s for s in m.states if s not in places and m.rank[s] > m.rank[m.main_path[-1]]}
    for state in m.states:
        if state in places or state in only_many:
            continue
        column = 1
        while (column, m.rank[state]) in taken:
            column += 1
        places[state] = (column, m.rank[state])
        taken.add(places[state])
    if m.many_sources or only_many:
        # The "any active state" box in column 1, in the middle rows; the states only it
        # reaches beside it and below it.
        row = max(1, len(m.main_path) // 2 + 1)
        while any(spot in taken for spot in [(1, row), (2, row), (1, row + 1), (2, row + 1)]):
            row += 1
        places[ANY] = (1, row)
        taken.add((1, row))
        spots = [(2, row), (1, row + 1), (2, row + 1), (1, row + 2), (2, row + 2)]
        for state in sorted(only_many, key=m.states.index):
            spot = next(s for s in spots if s not in taken)
            places[state] = spot
            taken.add(spot)
    return places


def _edge_path(a: Node, b: Node, *, back: bool, main: bool, rtl: bool, lane: int):
    """An SVG path from box ``a`` to box ``b``, and its label's place and anchor."""
    outward = -1 if not rtl else 1  # towards the free margin of the main column
    if a.x == b.x and back and main:
        # Back along the main column: a loop in the margin.
        edge_x = a.x if not rtl else a.x + BOX_W
        bulge = edge_x + outward * (24 + 16 * lane)
        path = f"M{edge_x},{a.cy} C{bulge},{a.cy} {bulge},{b.cy} {edge_x},{b.cy}"
        return path, bulge + outward * 2, (a.cy + b.cy) // 2 + 4, "end" if not rtl else "start"
    if a.x == b.x:
        down = b.y > a.y
        y1, y2 = (a.y + BOX_H, b.y) if down else (a.y, b.y + BOX_H)
        if main:
            x = a.cx
            return (f"M{x},{y1} L{x},{y2}", x - outward * 6, (y1 + y2) // 2 + 4,
                    "start" if not rtl else "end")
        # Two arrows between the same two boxes: side by side, each label on its side.
        x = a.cx + (6 if back else -6)
        return (f"M{x},{y1} L{x},{y2}", x + (4 if back else -4), (y1 + y2) // 2 + 4,
                "start" if back else "end")
    right = b.x > a.x
    if a.y == b.y:
        x1, x2 = (a.x + BOX_W, b.x) if right else (a.x, b.x + BOX_W)
        dy = -5 if back else 5
        return f"M{x1},{a.cy + dy} L{x2},{b.cy + dy}", (x1 + x2) // 2, a.cy + dy - 4, "middle"
    if not back:
        # Forward to another column: along the source's row, then down (or up) into the box.
        x1 = a.x + BOX_W if right else a.x
        y2 = b.y if b.y > a.y else b.y + BOX_H
        anchor = "start" if right else "end"
        return (f"M{x1},{a.cy} L{b.cx},{a.cy} L{b.cx},{y2}", b.cx + (4 if right else -4),
                (a.cy + y2) // 2 + 8, anchor)
    # Back to another column: a curve through the gap between the columns (its name is in
    # its tooltip and the text alternative: the gap has no room for a label).
    x1 = a.x + BOX_W if right else a.x
    x2 = b.x if right else b.x + BOX_W
    mid = (x1 + x2) // 2
    path = f"M{x1},{a.cy + 6} C{mid},{a.cy + 6} {mid},{b.cy + 6} {x2},{b.cy + 6}"
    return path, mid, (a.cy + b.cy) // 2, ""


def lifecycle_diagram(*, current: str = "", visited=(), rtl: bool = False) -> Diagram:
    """The diagram with ``current`` highlighted and the ``visited`` states marked."""
    m = machine()
    terminal = _terminal_states(m)
    places = _place(m)
    columns = max(c for c, _r in places.values()) + 1
    rows = max(r for _c, r in places.values()) + 1
    width = LEFT + COLUMN * (columns - 1) + BOX_W + RIGHT
    height = TOP * 2 + ROW * (rows - 1) + BOX_H
    visited = set(visited)
    labels = dict(ProjectState.choices)

    def x_of(column):
        x = LEFT + COLUMN * column
        return width - x - BOX_W if rtl else x

    nodes = {}
    for key, (column, row) in places.items():
        nodes[key] = Node(
            state=key, label=_("any active state") if key == ANY else labels.get(key, key),
            x=x_of(column), y=TOP + ROW * row, current=key == current, visited=key in visited and key != current,
            main=key in m.main_path, terminal=key in terminal, is_any=key == ANY,
        )
    edges = []
    lanes = 0
    for t in m.transitions:
        many = t in [x for x in m.transitions if len(x.sources) >= MANY_SOURCES]
        returning = not many and len(t.targets) >= MANY_SOURCES and m.many_sources <= set(t.targets)
        pairs = []
        if many:
            pairs.append((ANY, t.targets[0]))
            pairs.extend((s, t.targets[0]) for s in t.sources if s not in m.many_sources)
        elif returning:
            pairs.extend((s, ANY) for s in t.sources)
        else:
            pairs.extend((s, target) for s in t.sources for target in t.targets)
        for source, target in pairs:
            a, b = nodes[source], nodes[target]
            rank_a, rank_b = places[source][1], places[target][1]
            back = rank_b < rank_a or (rank_a == rank_b and places[target][0] < places[source][0]) or returning
            main = places[source][0] == 0 and places[target][0] == 0
            lane = 0
            if back and main and a.x == b.x:
                lane, lanes = lanes % 3, lanes + 1
            path, lx, ly, anchor = _edge_path(a, b, back=back, main=main, rtl=rtl, lane=lane)
            if rtl:  # the anchors above are physical; right-to-left text reads them mirrored
                anchor = {"start": "end", "end": "start"}.get(anchor, anchor)
            edges.append(Edge(
                name=t.name, label=TRANSITION_LABELS.get(t.name, t.name), source=source, target=target,
                path=path, label_x=lx, label_y=ly, anchor=anchor, back=back,
            ))
    any_label = _("any active state")
    return Diagram(
        width=width, height=height, nodes=[nodes[k] for k in [*m.states, ANY] if k in nodes], edges=edges,
        rtl=rtl, current=current, current_label=labels.get(current, current),
        states=[(labels[s], s == current, s in visited and s != current, s in terminal, s) for s in m.states],
        transitions=[
            (TRANSITION_LABELS.get(t.name, t.name),
             [any_label, *(labels.get(s, s) for s in t.sources if s not in m.many_sources)]
             if len(t.sources) >= MANY_SOURCES else [labels.get(s, s) for s in t.sources],
             [labels.get(s, s) for s in t.targets] if len(t.targets) < MANY_SOURCES
             else [_("the state it came from")],
             t.name)
            for t in m.transitions
        ],
    )
