"""What funding offers each person (disbursements.actions): an order's and a disbursement's
steps, from their state machines and the services' preconditions, and what a file's page
offers in funding. An action offered is one its service takes; one refused says why."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from core.actions import available, named
from core.roles import Role
from disbursements import selectors
from disbursements import services as funding
from disbursements.actions import disbursement_actions, order_actions, project_funding_actions
from tests._scopes import in_charge
from tests._uploads import pdf_bytes
from tests._web import as_user, html_of
from workflow.actions import project_actions
from workflow.models import GrantProject

pytestmark = pytest.mark.django_db

PASSWORD = "pass-Tamkeen-2025"


def offered(actions) -> dict:
    """``{name: reason}`` of ``actions`` ("" when available)."""
    return {action.name: action.reason for action in actions}


@pytest.fixture
def project(make_project):
    return make_project("funding", amount="60000.00")


# --- Purchase orders ----------------------------------------------------------------------------


def test_a_draft_without_quotes_offers_quotes_and_says_why_not_the_rest(project, make_order, cast):
    order = make_order(project, quotes=0)
    funding.supplier_create(actor=cast.finance, name="Atlas Couture")
    actions = offered(order_actions(order, cast.finance))
    assert actions["add_quote"] == ""
    assert actions["choose_quote"] == "No quote yet."
    assert "Choose one of the quotes first." in actions["issue"]
    assert "at least three competing quotes" in actions["issue"]
    # Other roles' steps are not offered at all.
    assert order_actions(order, cast.mentor) == [] and order_actions(order, cast.agent) == []
    assert named(order_actions(order, cast.finance), "add_quote").url == reverse("funding:quote_add",
                                                                                 args=[order.pk])


def test_quotes_wait_for_a_supplier_who_has_not_quoted(project, make_order, cast):
    order = make_order(project, quotes=0)
    assert "register one" in offered(order_actions(order, cast.finance))["add_quote"]
    with_quotes = make_order(project, quotes=3)
    assert "register one" in offered(order_actions(with_quotes, cast.finance))["add_quote"]
    funding.supplier_create(actor=cast.finance, name="Nouveau fournisseur")
    assert offered(order_actions(with_quotes, cast.finance))["add_quote"] == ""


def test_one_quote_can_be_chosen_the_justification_is_asked_on_the_form(project, make_order, cast):
    order = make_order(project, quotes=1)
    assert offered(order_actions(order, cast.finance))["choose_quote"] == ""


def test_issue_is_offered_once_a_quote_is_chosen_within_what_the_project_has_left(project, make_order, cast):
    chosen = make_order(project, "chosen")
    issue = named(order_actions(chosen, cast.finance), "issue")
    assert issue.available and issue.confirm.startswith("I confirm")
    # Another order spends most of the approved 60,000: the first no longer fits.
    make_order(project, "issued", amounts=("45000.00", "46000.00", "47000.00"))
    reason = offered(order_actions(chosen, cast.finance))["issue"]
    assert "exceeds what the project has left to order" in reason and "15,000.00" in reason


def test_an_issued_order_is_delivered_by_officers_and_mentors(project, make_order, cast):
    order = make_order(project, "issued")
    assert offered(order_actions(order, cast.officer)) == {"deliver": ""}
    assert offered(order_actions(order, cast.mentor)) == {"deliver": ""}
    assert order_actions(order, cast.finance) == []


def test_the_receipt_steps_of_a_delivered_order(project, make_order, cast):
    order = make_order(project, "delivered")
    mentor = offered(order_actions(order, cast.mentor))
    assert set(mentor) == {"attach_receipt_scan", "confirm_receipt", "receive"}
    assert mentor["attach_receipt_scan"] == mentor["confirm_receipt"] == ""
    assert mentor["receive"].startswith("Attach the signed scan of the receipt report")
    assert offered(order_actions(order, cast.agent)) == {"witness_receipt": ""}
    assert set(offered(order_actions(order, cast.officer))) == {"attach_receipt_scan", "receive"}

    # The scan is a signed report: reception is offered, and the scan can be replaced.
    funding.receipt_attach_scan(order_id=order.pk, actor=cast.officer,
                                uploaded_file=SimpleUploadedFile("pv.pdf", pdf_bytes("PV"), "application/pdf"))
    actions = order_actions(order, cast.officer)
    assert named(actions, "receive").available
    assert named(actions, "attach_receipt_scan").label == "Replace the signed receipt report"


def test_signatures_are_offered_once_to_distinct_people(project, make_order, cast, make_user):
    small = ("1000.00", "1100.00", "1200.00")
    order = make_order(project, "delivered", amounts=small)
    funding.receipt_confirm_mentor(order_id=order.pk, actor=cast.mentor)
    assert offered(order_actions(order, cast.mentor))["confirm_receipt"] == "Signed by the mentor mentor."
    both = make_user(Role.MENTOR, Role.ASSOCIATION_AGENT, username="double")
    # The agent who witnesses is the file's agent in charge (core.scopes).
    both = in_charge(project.pk, both, cast.officer, mentor=False)
    other = make_order(project, "delivered", amounts=small)
    funding.receipt_witness_beneficiary(order_id=other.pk, actor=both)
    assert offered(order_actions(other, both))["confirm_receipt"] == (
        "You witnessed the beneficiary's signature; the mentor must be someone else.")
    in_charge(project.pk, cast.agent, cast.officer)
    other = type(other).objects.get(pk=other.pk)  # its file as it is now
    assert "witnessed by double" in offered(order_actions(other, cast.agent))["witness_receipt"]
    third = make_order(project, "delivered", amounts=small)
    funding.receipt_confirm_mentor(order_id=third.pk, actor=both)
    both = in_charge(project.pk, both, cast.officer, mentor=False)
    third = type(third).objects.get(pk=third.pk)
    assert offered(order_actions(third, both))["witness_receipt"] == (
        "You signed as the mentor; another person must witness the beneficiary.")
    # Once both signed, reception is offered.
    in_charge(project.pk, cast.agent, cast.officer)
    funding.receipt_witness_beneficiary(order_id=order.pk, actor=cast.agent)
    assert named(order_actions(order, cast.mentor), "receive").available


def test_the_files_mentor_signs_its_receipt_reports(project, make_order, cast, make_user):
    from followup.services import project_assign_mentor

    assigned = make_user(Role.MENTOR, username="amina")
    project_assign_mentor(project_id=project.pk, actor=cast.officer, mentor_id=assigned.pk)
    order = make_order(project, "delivered")
    # Another mentor is not offered the file's signature at all (core.scopes).
    assert "confirm_receipt" not in offered(order_actions(order, cast.mentor))
    assert offered(order_actions(order, assigned))["confirm_receipt"] == ""


def test_a_received_order_offers_nothing(project, make_order, cast):
    order = make_order(project, "received")
    for person in (cast.finance, cast.officer, cast.mentor, cast.agent):
        assert order_actions(order, person) == []


# --- Disbursements ------------------------------------------------------------------------------


def test_a_request_is_authorized_or_rejected_in_the_tray_and_cancelled_by_finance(project, people):
    d = funding.disbursement_request(project_id=project.pk, actor=people["finance"], amount="1000.00")
    authorizer = offered(disbursement_actions(d, people["authorizer"]))
    assert authorizer == {"authorize": "", "reject": ""}
    tray = f"{reverse('funding:index')}?q={d.reference}"
    assert named(disbursement_actions(d, people["authorizer"]), "authorize").url == tray
    cancel = named(disbursement_actions(d, people["finance"]), "cancel")
    assert cancel.available and cancel.danger and cancel.url == reverse("funding:disbursement_cancel", args=[d.pk])
    assert disbursement_actions(d, people["treasurer"]) == []


def test_separation_of_duties_is_said_not_hidden(project, people, make_user):
    both = make_user(Role.FINANCE_OFFICER, Role.AUTHORIZING_OFFICER, username="cumulard")
    mine = funding.disbursement_request(project_id=project.pk, actor=both, amount="1000.00")
    assert offered(disbursement_actions(mine, both)) == {
        "authorize": "You requested it: another person authorizes it.",
        "reject": "You requested it: another person authorizes it.",
        "cancel": "",
    }
    theirs = funding.disbursement_request(project_id=project.pk, actor=people["finance"], amount="1000.00")
    theirs = funding.disbursement_authorize(disbursement_id=theirs.pk, actor=both)
    assert offered(disbursement_actions(theirs, both)) == {"cancel": "You authorized it: another person cancels it."}
    treasurer_too = make_user(Role.TREASURER, Role.AUTHORIZING_OFFICER, username="comptable-ordonnateur")
    other = funding.disbursement_request(project_id=project.pk, actor=people["finance"], amount="1000.00")
    other = funding.disbursement_authorize(disbursement_id=other.pk, actor=treasurer_too)
    assert offered(disbursement_actions(other, treasurer_too)) == {
        "release": "You already took another step of it: another person releases it."}
    release = named(disbursement_actions(other, people["treasurer"]), "release")
    assert release.available and release.stepup


def test_no_release_is_offered_while_the_file_is_suspended(project, people, cast):
    from workflow import services

    d = funding.disbursement_request(project_id=project.pk, actor=people["finance"], amount="1000.00")
    funding.disbursement_authorize(disbursement_id=d.pk, actor=people["authorizer"])
    services.project_suspend(project_id=project.pk, actor=cast.officer, reason="Enquête.")
    reason = offered(disbursement_actions(selectors.disbursement(d.pk), people["treasurer"]))["release"]
    assert reason == "Funds are not released while the file is suspended."


def test_a_paid_tranche_offers_nothing(project, people):
    d = funding.disbursement_request(project_id=project.pk, actor=people["finance"], amount="1000.00")
    funding.disbursement_authorize(disbursement_id=d.pk, actor=people["authorizer"])
    d = funding.disbursement_release(disbursement_id=d.pk, actor=people["treasurer"], password=PASSWORD,
                                     payment_reference="VIR-1", idempotency_key="k-1")
    for person in people.values():
        assert disbursement_actions(d, person) == []


# --- A file in funding --------------------------------------------------------------------------


def test_what_a_file_in_funding_offers_each_role(project, cast, people):
    officer = offered(project_funding_actions(project, cast.officer))
    assert officer == {"equipment_plan": "", "funding": "", "equipment_received": "The project has no purchase order yet."}
    assert offered(project_funding_actions(project, cast.mentor)) == {"equipment_plan": "", "purchase_orders": ""}
    assert offered(project_funding_actions(project, cast.agent)) == {"purchase_orders": ""}
    assert offered(project_funding_actions(project, cast.finance)) == {"equipment_plan": "", "funding": ""}
    assert offered(project_funding_actions(project, people["treasurer"])) == {"funding": ""}


def test_confirm_equipment_names_the_orders_holding_the_file_back(project, make_order, cast):
    received = make_order(project, "received")
    pending = make_order(project, "delivered")
    reason = offered(project_funding_actions(project, cast.officer))["equipment_received"]
    assert pending.reference in reason and received.reference not in reason
    funding.receipt_confirm_mentor(order_id=pending.pk, actor=cast.mentor)
    funding.receipt_witness_beneficiary(order_id=pending.pk, actor=cast.agent)
    funding.purchase_order_receive(order_id=pending.pk, actor=cast.mentor)
    confirm = named(project_funding_actions(project, cast.officer), "equipment_received")
    assert confirm.available and confirm.url == reverse("funding:confirm_equipment", args=[project.pk])
    funding.project_confirm_equipment(project_id=project.pk, actor=cast.officer)
    equipped = GrantProject.objects.get(pk=project.pk)
    assert offered(project_funding_actions(equipped, cast.officer)) == {"funding": ""}


def test_the_files_page_shows_what_funding_offers(client, project, cast):
    # Registered from DisbursementsConfig.ready: the file's own page asks funding too.
    assert {"equipment_plan", "funding", "equipment_received"} <= set(offered(project_actions(project, cast.officer)))
    html = html_of(as_user(client, cast.officer).get(reverse("projects:detail", args=[project.pk])))
    assert 'data-action="equipment_received"' in html and "The project has no purchase order yet." in html
    assert reverse("funding:plan", args=[project.pk]) in html
    assert reverse("funding:project", args=[project.pk]) in html
    html = html_of(as_user(client, cast.agent).get(reverse("projects:detail", args=[project.pk])))
    assert reverse("funding:orders", args=[project.pk]) in html
    assert 'data-action="equipment_received"' not in html


def test_an_approved_file_not_yet_in_funding_plans_its_equipment(make_project, cast):
    approved = make_project("approved", amount="50000.00")
    assert offered(project_funding_actions(approved, cast.mentor)) == {"equipment_plan": ""}
    assert offered(project_funding_actions(approved, cast.finance)) == {"equipment_plan": "", "funding": ""}


# --- The funding pages render them --------------------------------------------------------------


def test_the_funding_page_renders_each_orders_and_tranches_actions(client, project, make_order, cast, people):
    order = make_order(project, "chosen")
    d = funding.disbursement_request(project_id=project.pk, actor=people["finance"], amount="1000.00")
    html = html_of(as_user(client, cast.finance).get(reverse("funding:project", args=[project.pk])))
    assert reverse("funding:order_issue", args=[order.pk]) in html
    assert reverse("funding:disbursement_cancel", args=[d.pk]) in html
    assert reverse("funding:order_create", args=[project.pk]) in html
    html = html_of(as_user(client, people["authorizer"]).get(reverse("funding:project", args=[project.pk])))
    assert f"{reverse('funding:index')}?q={d.reference}" in html
    assert reverse("funding:order_issue", args=[order.pk]) not in html
    assert reverse("funding:disbursement_cancel", args=[d.pk]) not in html


def test_the_orders_page_gives_mentors_and_agents_their_steps(client, project, make_order, cast):
    order = make_order(project, "delivered")
    page = as_user(client, cast.agent).get(reverse("funding:orders", args=[project.pk]))
    html = html_of(page)
    assert order.reference in html and reverse("funding:receipt_witness", args=[order.pk]) in html
    assert reverse("funding:order_receive", args=[order.pk]) not in html
    (row,) = page.context["orders"]
    assert [a.name for a in available(row["actions"])] == ["witness_receipt"]
    html = html_of(as_user(client, cast.mentor).get(reverse("funding:orders", args=[project.pk])))
    assert reverse("funding:receipt_confirm", args=[order.pk]) in html
    assert "Attach the signed scan of the receipt report" in html
