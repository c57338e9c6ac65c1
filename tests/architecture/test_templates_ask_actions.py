"""Pages render what the selectors say a user may do (``core.actions``), and the views
say which phase an object is in: no template compares a state machine's state to a name.
A template that did would offer a button the state machine, the role or the separation
of duties refuses, or hide one they allow."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ["core", "ledger", "workflow", "disbursements", "approvals", "training", "followup", "notifications",
        "reporting", "twofactor", "templates"]
STATE_TEST = re.compile(r"""\b\w+\.state\s*(==|!=|in\b)\s*["'(\[]""")


def state_tests(text):
    return [match.group(0) for match in STATE_TEST.finditer(text)]


def test_the_pattern_finds_a_state_test():
    assert state_tests('{% if session.state == "planned" %}') == ['session.state == "']
    assert state_tests("{% elif visit.project.state != 'launched' %}") == ["project.state != '"]
    assert state_tests("{% if task.deadline_state == 'escalated' %}") == []
    assert state_tests("{{ session.get_state_display }}") == []


def test_no_template_tests_a_state_name():
    found = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.html")):
            for test in state_tests(path.read_text(encoding="utf-8")):
                found.append(f"{path.relative_to(ROOT)}: {test}")
    assert found == []
