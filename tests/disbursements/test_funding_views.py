"""The funding screens (issue 5, item 8) through the Django test client: the finance
inbox (authorize, reject, release with step-up), a project's funding page (balance,
plan, orders, requesting a tranche) and the payments CSV export."""

import csv
import io
import re

import pytest
from django.urls import reverse

from core.roles import Role
from disbursements import services as funding
from disbursements.models import Disbursement, EnvelopeEvent
from ledger.models import AuditEntry
from tests._web import without_waiting_panel

pytestmark = pytest.mark.django_db

PASSWORD = "pass-Tamkeen-2025"


@pytest.fixture
def people(cast, make_user):
    return {
        "finance": cast.finance,
        "authorizer": make_user(Role.AUTHORIZING_OFFICER, username="ordonnateur"),
        "treasurer": make_user(Role.TREASURER, username="comptable"),
        "auditor": make_user(Role.AUDITOR, username="auditrice"),
        "mentor": cast.mentor,
        "agent": cast.agent,
    }


@pytest.fixture
def project(make_project):
    return make_project("funding", amount="60000.00")


@pytest.fixture
def tranche(project, people):
    def make(state="requested", *, amount="1000.00", requested_by=None):
        d = funding.disbursement_request(project_id=project.pk, actor=requested_by or people["finance"],
                                         amount=amount)
        if state in ("authorized", "released"):
            d = funding.disbursement_authorize(disbursement_id=d.pk, actor=people["authorizer"])
        if state == "released":
            d = funding.disbursement_release(disbursement_id=d.pk, actor=people["treasurer"], password=PASSWORD,
                                             payment_reference=f"VIR-{d.pk}", idempotency_key=f"k-{d.pk}")
        return d

    return make


def url(name, *args):
    return reverse(f"funding:{name}", args=args)


def html_of(response) -> str:
    return response.content.decode()


def state_of(d):
    return Disbursement.objects.get(pk=d.pk).state


def audit_count(d, transition=None):
    entries = AuditEntry.objects.for_entity(d)
    return entries.filter(transition=transition).count() if transition else entries.count()


def release_form(client, d):
    """The release form's fields as the treasurer's inbox renders them (its key included)."""
    html = html_of(client.get(url("index")))
    key = re.search(rf'name="idempotency_key" value="([0-9a-f]+)"[^>]*id="id_idempotency_key_{d.pk}"', html)
    assert key, "no release form rendered for this disbursement"
    return {"password": PASSWORD, "payment_reference": "VIR-2025-0042", "idempotency_key": key.group(1),
            "confirm": "on"}


# --- Access -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/funding/", "/funding/projects/1/", "/funding/payments.csv?program=1"])
def test_anonymous_user_is_redirected_to_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("role, inbox, page, csv_", [
    ("finance", 200, 200, 200),
    ("authorizer", 200, 200, 200),
    ("treasurer", 200, 200, 200),
    ("auditor", 403, 200, 200),
    ("mentor", 403, 403, 403),
    ("agent", 403, 403, 403),
])
def test_each_role_sees_what_it_should(client, people, project, program, role, inbox, page, csv_):
    client.force_login(people[role])
    assert client.get(url("index")).status_code == inbox
    assert client.get(url("project", project.pk)).status_code == page
    assert client.get(url("payments") + f"?program={program.pk}").status_code == csv_


def test_inbox_lists_what_each_officer_acts_on(client, people, tranche, project):
    requested, authorized = tranche("requested"), tranche("authorized")
    client.force_login(people["authorizer"])
    html = html_of(client.get(url("index")))
    assert requested.reference in html and authorized.reference not in html
    assert project.reference in html and project.beneficiary.last_name in html
    assert url("authorize", requested.pk) in html and url("release", authorized.pk) not in html
    assert "1,000.00" in html  # the mad filter, in English

    client.force_login(people["treasurer"])
    html = html_of(client.get(url("index")))
    assert authorized.reference in html and requested.reference not in html
    assert url("release", authorized.pk) in html and 'type="password"' in html
    assert "No request waits" not in html  # a treasurer has no authorization list


def test_the_finance_officer_sees_the_projects_to_prepare_and_their_own_requests(client, people, tranche, project):
    client.force_login(people["finance"])
    html = html_of(client.get(url("index")))
    assert project.reference in html and url("project", project.pk) in html
    assert "None of your requests is waiting." in html
    mine = tranche("requested", requested_by=people["finance"])
    html = html_of(client.get(url("index")))
    assert mine.reference in html
    # The maker never gets the checker's buttons.
    assert url("authorize", mine.pk) not in html and url("release", mine.pk) not in html
    assert project.reference not in without_waiting_panel(html_of(client.get(url("index"), {"q": "no-such-project"})))


def test_empty_inbox_says_so(client, people):
    client.force_login(people["authorizer"])
    assert "No request waits for your authorization." in html_of(client.get(url("index")))
    client.force_login(people["treasurer"])
    assert "No authorized tranche waits for release." in html_of(client.get(url("index")))


def test_the_inbox_searches_and_filters_by_program(client, people, tranche, project, program):
    first = tranche("requested")
    client.force_login(people["authorizer"])
    by_reference = html_of(client.get(url("index"), {"q": first.reference}))
    assert first.reference in by_reference
    by_name = html_of(client.get(url("index"), {"q": project.beneficiary.last_name}))
    assert first.reference in by_name
    assert first.reference in html_of(client.get(url("index"), {"q": project.reference}))
    nothing = html_of(client.get(url("index"), {"q": "no-such-thing"}))
    assert first.reference not in nothing and "No request matches this search." in nothing
    this_program = html_of(client.get(url("index"), {"program": program.pk}))
    assert first.reference in this_program
    elsewhere = html_of(client.get(url("index"), {"program": program.pk + 1000}))
    assert first.reference not in elsewhere
    # A malformed program id is ignored, never a 500.
    assert first.reference in html_of(client.get(url("index"), {"program": "abc"}))


def test_finance_officer_cannot_post_an_authorization(client, people, tranche):
    d = tranche()
    client.force_login(people["finance"])
    assert client.post(url("authorize", d.pk), {"note": ""}).status_code == 403
    assert state_of(d) == "requested"


# --- Authorize and reject ---------------------------------------------------------------


def test_authorizing_officer_authorizes_from_the_inbox(client, people, tranche):
    d = tranche()
    client.force_login(people["authorizer"])
    response = client.post(url("authorize", d.pk), {"note": "Pièces vérifiées."}, follow=True)
    assert response.redirect_chain[-1][0] == url("index")
    assert "authorized" in html_of(response)
    d = Disbursement.objects.get(pk=d.pk)
    assert (d.state, d.authorized_by_id) == ("authorized", people["authorizer"].pk)
    assert audit_count(d, "authorize") == 1


def test_reject_needs_a_reason(client, people, tranche):
    d = tranche()
    client.force_login(people["authorizer"])
    response = client.post(url("reject", d.pk), {"reason": "  "})
    assert response.status_code == 200
    assert "This field is required." in html_of(response)
    assert state_of(d) == "requested"
    client.post(url("reject", d.pk), {"reason": "Devis manquant."})
    d = Disbursement.objects.get(pk=d.pk)
    assert (d.state, d.closing_reason) == ("rejected", "Devis manquant.")


def test_the_same_user_cannot_authorize_their_own_request(client, make_user, tranche):
    both = make_user(Role.FINANCE_OFFICER, Role.AUTHORIZING_OFFICER, username="cumulard")
    d = tranche(requested_by=both)
    before = audit_count(d)
    client.force_login(both)
    page = html_of(client.get(url("index")))
    assert url("authorize", d.pk) not in page  # never proposed to them for authorization,
    assert d.reference in page.split("tamkeen-my-requests", 1)[1].split("tamkeen-to-authorize", 1)[0]  # only as theirs
    response = client.post(url("authorize", d.pk), {"note": ""})
    assert response.status_code == 200
    html = html_of(response)
    assert "already took another step of this disbursement" in html
    assert f'Nothing was done on <bdi dir="ltr">{d.reference}</bdi>' in html
    d = Disbursement.objects.get(pk=d.pk)
    assert (d.state, d.authorized_by_id) == ("requested", None)
    assert audit_count(d) == before


# --- Release ----------------------------------------------------------------------------


def test_treasurer_releases_with_password_and_payment_reference(client, people, tranche):
    d = tranche("authorized")
    client.force_login(people["treasurer"])
    data = release_form(client, d)
    response = client.post(url("release", d.pk), data, follow=True)
    assert response.redirect_chain[-1][0] == url("index")
    assert "released" in html_of(response)
    d = Disbursement.objects.get(pk=d.pk)
    assert (d.state, d.released_by_id, d.payment_reference, d.release_key) == (
        "released", people["treasurer"].pk, "VIR-2025-0042", data["idempotency_key"])
    assert EnvelopeEvent.objects.filter(disbursement=d, kind=EnvelopeEvent.Kind.RELEASE).count() == 1


def test_the_same_release_form_posted_twice_releases_once(client, people, tranche):
    d = tranche("authorized")
    client.force_login(people["treasurer"])
    data = release_form(client, d)
    first = client.post(url("release", d.pk), data)
    second = client.post(url("release", d.pk), data)
    assert first.status_code == second.status_code == 302
    assert state_of(d) == "released"
    assert audit_count(d, "release") == 1
    assert EnvelopeEvent.objects.filter(disbursement=d, kind=EnvelopeEvent.Kind.RELEASE).count() == 1
    # A fresh form (another key) on the released tranche is refused, nothing more is paid.
    again = dict(data, idempotency_key="another-key")
    assert client.post(url("release", d.pk), again).status_code == 200
    assert audit_count(d, "release") == 1


def test_wrong_password_is_a_field_error_and_nothing_changes(client, people, tranche):
    d = tranche("authorized")
    client.force_login(people["treasurer"])
    data = dict(release_form(client, d), password="not-my-password")
    before = audit_count(d), EnvelopeEvent.objects.count()
    response = client.post(url("release", d.pk), data)
    assert response.status_code == 200
    form = response.context["to_release"][0].release_form
    assert form.errors["password"] == ["The password is not correct."]
    assert data["idempotency_key"] in html_of(response)  # the same key is kept for the retry
    d = Disbursement.objects.get(pk=d.pk)
    assert (d.state, d.released_by_id, d.payment_reference) == ("authorized", None, "")
    assert (audit_count(d), EnvelopeEvent.objects.count()) == before


def test_release_needs_the_confirmation_and_a_payment_reference(client, people, tranche):
    d = tranche("authorized")
    client.force_login(people["treasurer"])
    data = release_form(client, d)
    data.pop("confirm")
    data["payment_reference"] = ""
    response = client.post(url("release", d.pk), data)
    form = response.context["to_release"][0].release_form
    assert set(form.errors) == {"confirm", "payment_reference"}
    assert state_of(d) == "authorized"


# --- The project's funding page ---------------------------------------------------------


def test_funding_page_shows_plan_orders_disbursements_and_balance(client, people, project, tranche):
    finance = people["finance"]
    funding.equipment_item_add(project_id=project.pk, actor=finance, description="Machine à coudre",
                               quantity=2, unit_price="12500.00")
    supplier = funding.supplier_create(actor=finance, name="Atelier Nador Équipement")
    order = funding.purchase_order_create(project_id=project.pk, actor=finance, description="Machines")
    quote = funding.quote_add(order_id=order.pk, actor=finance, supplier_id=supplier.pk, amount="24000.00")
    funding.purchase_order_choose_quote(order_id=order.pk, actor=finance, quote_id=quote.pk,
                                        reason="Seul fournisseur local.",
                                        justification="Un seul fournisseur agréé dans la province.")
    tranche("released", amount="15000.00")
    pending = tranche("requested", amount="2000.00")

    client.force_login(people["auditor"])
    response = client.get(url("project", project.pk))
    assert response.status_code == 200
    summary = response.context["summary"]
    assert (summary.approved, summary.released, summary.balance, summary.pending) == (
        60000, 15000, 45000, 2000)
    html = html_of(response)
    for text in ("Machine à coudre", order.reference, "Atelier Nador Équipement", "Seul fournisseur local.",
                 "Un seul fournisseur agréé dans la province.", "tamkeen-chosen-quote", pending.reference,
                 "comptable", "ordonnateur", "No receipt report yet"):
        assert text in html, text
    assert response.context["summary"].plan_total == 25000
    for figure in ("60,000.00", "15,000.00", "45,000.00", "2,000.00", "25,000.00"):
        assert figure in html, figure
    assert "Request a disbursement" not in html  # auditors read only


def test_finance_officer_requests_a_disbursement_from_the_funding_page(client, people, project):
    client.force_login(people["finance"])
    page = client.get(url("project", project.pk))
    assert "Request a disbursement" in html_of(page)
    key = page.context["request_form"]["idempotency_key"].value()
    data = {"amount": "2500.00", "purchase_order": "", "purpose": "Première tranche", "idempotency_key": key}
    assert client.post(url("project", project.pk), data).status_code == 302
    assert client.post(url("project", project.pk), data).status_code == 302  # double submit: one request
    d = Disbursement.objects.get(project=project)
    assert (d.state, str(d.amount), d.requested_by_id) == ("requested", "2500.00", people["finance"].pk)

    bad = client.post(url("project", project.pk), dict(data, amount="12.345", idempotency_key="other"))
    assert bad.status_code == 200 and "amount" in bad.context["request_form"].errors
    assert Disbursement.objects.filter(project=project).count() == 1


def test_only_finance_officers_post_requests(client, people, project):
    client.force_login(people["auditor"])
    response = client.post(url("project", project.pk), {"amount": "100.00", "idempotency_key": "x"})
    assert response.status_code == 403
    assert not Disbursement.objects.exists()


# --- Payments CSV -----------------------------------------------------------------------


def test_payments_csv_has_the_header_and_one_row_per_release(client, people, program, tranche):
    released = [tranche("released", amount="1000.00"), tranche("released", amount="2500.50")]
    tranche("authorized")  # not paid: not exported
    client.force_login(people["auditor"])
    response = client.get(url("payments") + f"?program={program.pk}")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment; filename=")
    assert response.streaming  # line by line from the database, never built in memory
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8"))))
    assert rows[0] == ["reference", "project", "beneficiary", "amount", "payment_reference", "released_at",
                       "released_by"]
    assert all(len(row) == 7 for row in rows)
    assert [(r[0], r[3], r[6]) for r in rows[1:]] == [
        (d.reference, str(d.amount), "comptable") for d in released]


def test_payments_csv_without_a_program_is_not_found(client, people):
    client.force_login(people["treasurer"])
    assert client.get(url("payments")).status_code == 404
    assert client.get(url("payments") + "?program=nope").status_code == 404


# --- Giving a withdrawn project's commitment back ----------------------------------------


@pytest.fixture
def withdrawn(project, people, tranche, cast):
    """A project approved for 60,000 that received 15,000 and was then withdrawn."""
    from workflow import services

    tranche("released", amount="15000.00")
    services.project_withdraw(project_id=project.pk, actor=cast.agent, reason="Départ de la bénéficiaire.")
    return project


def _events(project, kind):
    return list(EnvelopeEvent.objects.filter(project=project, kind=kind).values_list("amount", flat=True))


def test_the_inbox_lists_withdrawn_projects_still_holding_money(client, people, withdrawn, make_project):
    make_project("funding")  # in funding: not a commitment to give back
    client.force_login(people["finance"])
    response = client.get(url("index"))
    assert [p.pk for p in response.context["to_give_back"]] == [withdrawn.pk]
    assert response.context["to_give_back"][0].to_give_back == 45000
    html = html_of(response)
    assert "Commitments to give back" in html and "45,000.00" in html
    client.force_login(people["authorizer"])  # not their duty: the list is not shown
    assert "Commitments to give back" not in html_of(client.get(url("index")))


def test_giving_back_needs_a_reason_and_the_confirmation_and_changes_nothing_without(client, people, withdrawn):
    client.force_login(people["finance"])
    page = client.get(url("project", withdrawn.pk))
    assert page.context["can_decommit"] and 'Give back <bdi dir="ltr">45,000.00</bdi>' in html_of(page)
    assert "Request a disbursement" not in html_of(page)  # a withdrawn project receives nothing more

    refused = client.post(url("decommit", withdrawn.pk), {"reason": "", "confirm": ""})
    assert refused.status_code == 200
    assert set(refused.context["decommit_form"].errors) == {"reason", "confirm"}
    assert _events(withdrawn, "decommit") == []

    done = client.post(url("decommit", withdrawn.pk), {"reason": "Projet abandonné.", "confirm": "on"}, follow=True)
    assert done.redirect_chain[-1][0] == url("project", withdrawn.pk)
    assert "given back" in html_of(done)
    assert _events(withdrawn, "decommit") == [45000]
    assert not done.context["can_decommit"]  # nothing is left to give back
    assert client.get(url("index")).context["to_give_back"].paginator.count == 0

    again = client.post(url("decommit", withdrawn.pk), {"reason": "Encore.", "confirm": "on"})
    assert again.status_code == 200 and again.context["decommit_form"].errors  # coded refusal, on the form
    assert _events(withdrawn, "decommit") == [45000]


@pytest.mark.parametrize("who", ["authorizer", "treasurer", "auditor"])
def test_only_finance_officers_give_commitments_back(client, people, withdrawn, who):
    client.force_login(people[who])
    assert not client.get(url("project", withdrawn.pk)).context["can_decommit"]
    response = client.post(url("decommit", withdrawn.pk), {"reason": "x", "confirm": "on"})
    assert response.status_code == 403
    assert _events(withdrawn, "decommit") == []


def test_a_project_still_in_funding_offers_no_give_back(client, people, project):
    client.force_login(people["finance"])
    assert not client.get(url("project", project.pk)).context["can_decommit"]
    response = client.post(url("decommit", project.pk), {"reason": "x", "confirm": "on"})
    assert response.status_code == 200 and response.context["decommit_form"].errors
    assert _events(project, "decommit") == []
