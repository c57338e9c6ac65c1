"""The lifecycle diagram is read from the model's django-fsm transitions (nothing drawn
by hand): every state and every transition of the machine is in it, in lifecycle order,
and the geometry holds together (boxes apart, arrows from box to box, mirrored in RTL)."""

import re

import pytest
from django.template.loader import render_to_string
from django.utils import translation

from disbursements.models import Disbursement
from workflow.diagram import ANY, BOX_H, BOX_W, MANY_SOURCES, lifecycle_diagram, machine
from workflow.models import GrantProject, ProjectState

HAPPY_PATH = ("draft", "submitted", "eligible", "in_committee", "approved", "in_training", "trained",
              "funding", "equipped", "launched", "closed")


def fsm_edges(model=GrantProject):
    """{(name, source, target)} straight from django-fsm."""
    edges = set()
    for transition in model._meta.get_field("state").get_all_transitions(model):
        if transition.target is None:  # keeps the state (an edit, a document): not an arrow
            continue
        allowed = getattr(transition.target, "allowed_states", None)
        for target in (allowed if allowed is not None else [transition.target]):
            edges.add((transition.name, transition.source, target))
    return edges


def test_every_state_and_transition_of_the_machine_is_in_the_diagram():
    m = machine()
    assert set(m.states) == set(ProjectState.values)
    described = {(t.name, s, target) for t in m.transitions for s in t.sources for target in t.targets}
    assert described == fsm_edges()
    diagram = lifecycle_diagram(current="draft")
    assert {n.state for n in diagram.nodes} == set(ProjectState.values) | {ANY}
    drawn = {e.name for e in diagram.edges}
    assert drawn == {name for name, _s, _t in fsm_edges()}
    assert not drawn & {"edit", "attach_document"}
    # Each drawn arrow stands for real pairs: an arrow from the "any active state" box
    # covers exactly the transition's shared sources.
    for edge in diagram.edges:
        transition = next(t for t in m.transitions if t.name == edge.name)
        if edge.source == ANY:
            assert m.many_sources <= set(transition.sources)
        else:
            assert edge.source in transition.sources
        if edge.target == ANY:
            assert m.many_sources <= set(transition.targets)
        else:
            assert edge.target in transition.targets


def test_every_source_target_pair_is_covered_by_an_arrow():
    m = machine()
    diagram = lifecycle_diagram()
    arrows = {(e.name, e.source, e.target) for e in diagram.edges}
    for name, source, target in fsm_edges():
        covered = (
            (name, source, target) in arrows
            or (source in m.many_sources and (name, ANY, target) in arrows)
            or (target in m.many_sources and (name, source, ANY) in arrows)
        )
        assert covered, (name, source, target)


def test_states_come_in_lifecycle_order_with_the_happy_path_in_one_column():
    m = machine()
    assert m.main_path == HAPPY_PATH
    assert m.states[: 3] == ("draft", "submitted", "eligible")
    assert m.states.index("ineligible") < m.states.index("in_committee")
    assert m.states.index("rejected") < m.states.index("in_training")
    nodes = {n.state: n for n in lifecycle_diagram().nodes}
    assert len({nodes[s].x for s in HAPPY_PATH}) == 1
    assert [nodes[s].y for s in HAPPY_PATH] == sorted(nodes[s].y for s in HAPPY_PATH)
    for side in ("ineligible", "revision_requested", "rejected", "withdrawn", "suspended"):
        assert nodes[side].x != nodes["draft"].x
    # A side state sits on the row of the step that leads to it.
    assert nodes["ineligible"].y == nodes["eligible"].y
    assert nodes["rejected"].y == nodes["revision_requested"].y == nodes["approved"].y


def test_withdraw_and_suspend_start_from_the_active_states_box():
    m = machine()
    assert len(m.many_sources) >= MANY_SOURCES
    assert "suspended" not in m.many_sources and "closed" not in m.many_sources
    diagram = lifecycle_diagram()
    pairs = {(e.name, e.source, e.target) for e in diagram.edges}
    assert ("withdraw", ANY, "withdrawn") in pairs
    assert ("withdraw", "suspended", "withdrawn") in pairs  # a suspended file can be withdrawn too
    assert ("suspend", ANY, "suspended") in pairs
    assert ("resume", "suspended", ANY) in pairs


def test_boxes_do_not_overlap_and_arrows_join_boxes():
    diagram = lifecycle_diagram(current="in_committee")
    boxes = {n.state: n for n in diagram.nodes}
    placed = [(n.x, n.y) for n in diagram.nodes]
    assert len(set(placed)) == len(placed)
    for n in diagram.nodes:
        assert n.x >= 0 and n.x + BOX_W <= diagram.width and n.y >= 0 and n.y + BOX_H <= diagram.height

    def on_border(node, x, y):
        inside_x = node.x - 1 <= x <= node.x + BOX_W + 1
        inside_y = node.y - 1 <= y <= node.y + BOX_H + 1
        return inside_x and inside_y and (
            x in (node.x, node.x + BOX_W) or y in (node.y, node.y + BOX_H) or abs(x - node.cx) <= 8
            or node.y + 2 <= y <= node.y + BOX_H - 2
        )

    for edge in diagram.edges:
        numbers = [int(v) for v in re.findall(r"-?\d+", edge.path)]
        start, end = numbers[:2], numbers[-2:]
        assert on_border(boxes[edge.source], *start), edge
        assert on_border(boxes[edge.target], *end), edge


def test_right_to_left_mirrors_the_layout():
    ltr = {n.state: n for n in lifecycle_diagram(rtl=False).nodes}
    rtl_diagram = lifecycle_diagram(rtl=True)
    for node in rtl_diagram.nodes:
        assert node.x == rtl_diagram.width - ltr[node.state].x - BOX_W
        assert node.y == ltr[node.state].y


def test_current_and_visited_marks():
    diagram = lifecycle_diagram(current="in_training", visited={"draft", "submitted", "in_training"})
    marks = {n.state: n for n in diagram.nodes}
    assert [n.state for n in diagram.nodes if n.current] == ["in_training"]
    assert marks["draft"].visited and marks["submitted"].visited
    assert not marks["in_training"].visited  # current wins over visited
    assert not marks["eligible"].visited
    assert "lc-node--current" in marks["in_training"].css_class
    assert "lc-node--terminal" in marks["closed"].css_class


@pytest.mark.parametrize("language", ["en", "fr", "ar"])
def test_rendered_svg_is_accessible_and_translated(language):
    with translation.override(language):
        diagram = lifecycle_diagram(current="approved", rtl=translation.get_language_bidi())
        html = render_to_string("workflow/includes/lifecycle_diagram.html", {"diagram": diagram})
        approved_label = str(ProjectState.APPROVED.label)
    assert 'role="img"' in html and 'aria-labelledby="lc-title lc-desc"' in html
    assert html.count('aria-current="step"') == 1
    assert f">{approved_label}</text>" in html
    assert f"<strong>{approved_label} — " in html  # the text alternative names the current state
    assert ('direction="rtl"' in html) == (language == "ar")


def test_another_machine_is_read_the_same_way():
    """The reading is generic: the disbursement's machine comes out as its model says."""
    m = machine(Disbursement)
    assert m.initial == "requested"
    assert m.main_path == ("requested", "authorized", "released")
    assert set(m.states) == {"requested", "authorized", "released", "rejected", "cancelled"}
    assert {(t.name, s, x) for t in m.transitions for s in t.sources for x in t.targets} == fsm_edges(Disbursement)
