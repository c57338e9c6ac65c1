"""viewflow prints a node as its attribute name in title case ("Start", "Agenda") on the
process and task pages: every node of the grant flow prints its translated title instead,
and the flow's description is a translatable string, not its docstring."""

from django.utils import translation
from django.utils.functional import Promise

from workflow.flows import GrantFlow


def test_every_node_of_the_grant_flow_prints_its_title():
    for node in GrantFlow.instance.nodes():
        assert node.task_title, node.name
        assert str(node) == str(node.task_title), node.name
    with translation.override("en"):
        assert str(GrantFlow.start) == "Submission of the application"


def test_the_process_description_is_translatable():
    assert isinstance(GrantFlow.process_description, Promise)
    assert str(GrantFlow.process_description).startswith("One process per grant file")
