"""The web screens: login wall, inboxes, task forms calling services, project pages,
the read-only ledger admin."""

import re

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from viewflow.workflow import STATUS

from core.roles import Role
from demo.scenarios import attach_required_documents, receive_equipment, report_followup
from disbursements import services as funding
from ledger.models import AuditEntry
from tests._scopes import in_charge
from workflow import services
from workflow.flows import GrantFlow, process_for
from workflow.models import GrantProject

pytestmark = pytest.mark.django_db


def state_of(project):
    return GrantProject.objects.get(pk=project.pk).state


def audit_trail(project):
    return list(AuditEntry.objects.for_entity(project).order_by("seq").values_list("transition", flat=True))


def open_task(project, node):
    return process_for(project).task_set.get(flow_task=node, status__in=(STATUS.NEW, STATUS.ASSIGNED))


def task_url(task, name):
    return reverse(f"grant:{task.flow_task.name}:{name}", args=[task.process_id, task.pk])


def inbox_link(client, task):
    """The link of ``task`` in the logged-in user's inbox (``None`` when it is not there)."""
    html = client.get(reverse("inbox:index")).content.decode()
    row = re.search(rf'<tr class="tamkeen-inbox-row" data-task="{task.pk}".*?</tr>', html, re.S)
    if row is None:
        return None
    return re.search(r'href="([^"]+)"', row.group(0)).group(1).replace("&amp;", "&")


def take_and_execute(client, task, data, committed=None):
    """Open ``task`` from the logged-in user's inbox and post its screen's form (the
    confirmation ticked, unless ``data`` says otherwise)."""
    link = inbox_link(client, task)
    assert link is not None, f"{task.flow_task.name} is not in the inbox"
    assert client.get(link).status_code == 200
    return client.post(link, {"confirm": "on", **data})


# --- login wall and inbox --------------------------------------------------------------


@pytest.mark.parametrize("url", ["/", "/grant/inbox/", "/grant/queue/", "/projects/", "/projects/1/"])
def test_anonymous_user_is_redirected_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert f"next={url}" in response["Location"]


def test_root_shows_the_inbox(client, cast):
    client.force_login(cast.officer)
    response = client.get("/", follow=True)
    assert response.redirect_chain[-1][0] == reverse("inbox:index")
    assert response.status_code == 200
    assert "Nothing waits for you" in response.content.decode()


def test_screening_task_is_in_the_officers_inbox_only(client, cast, make_project, committed):
    with committed():
        project = make_project("submitted")
    task = open_task(project, GrantFlow.screening)

    client.force_login(cast.officer)
    link = inbox_link(client, task)
    assert link.startswith(f"/projects/{project.pk}/screen/?next=")

    client.force_login(cast.agent)
    assert inbox_link(client, task) is None
    assert client.get(link).status_code == 403


def test_agent_cannot_screen(client, cast, make_project, committed):
    with committed():
        project = make_project("submitted")
    task = open_task(project, GrantFlow.screening)
    client.force_login(cast.agent)

    assert client.post(task_url(task, "assign")).status_code == 403
    response = client.post(reverse("projects:screen", args=[project.pk]), {"decision": "screen", "confirm": "on"})
    assert response.status_code == 403
    assert state_of(project) == "submitted"


def test_an_officer_cannot_cancel_a_process_by_hand(client, cast, make_project, committed):
    with committed():
        project = make_project("submitted")
    process = process_for(project)
    client.force_login(cast.officer)
    assert client.post(reverse("grant:process_cancel", args=[process.pk])).status_code == 403
    assert process_for(project).status == STATUS.NEW


# --- task screens ---------------------------------------------------------------------------


def test_screening_on_the_web_makes_the_file_eligible_and_audits_it(client, cast, make_project, committed):
    with committed():
        project = make_project("submitted")
    task = open_task(project, GrantFlow.screening)
    client.force_login(cast.officer)

    response = take_and_execute(client, task, {"decision": "screen", "note": "Complete file."}, committed)

    assert response.status_code == 302
    assert state_of(project) == "eligible"
    entry = AuditEntry.objects.for_entity(project).order_by("-seq").first()
    assert (entry.transition, entry.from_state, entry.to_state) == ("screen_ok", "submitted", "eligible")
    assert entry.actor == cast.officer
    assert entry.actor_role == Role.PROGRAM_OFFICER
    assert entry.payload["note"] == "Complete file."
    task.refresh_from_db()
    assert task.status == STATUS.DONE
    assert task.owner == cast.officer
    assert [t.flow_task.name for t in process_for(project).task_set.filter(status=STATUS.NEW)] == ["agenda"]


def test_officer_found_reasons_make_the_file_ineligible_and_end_the_process(
    client, cast, make_project, committed
):
    with committed():
        project = make_project("submitted")
    client.force_login(cast.officer)
    take_and_execute(client, open_task(project, GrantFlow.screening),
                     {"decision": "screen", "failures": "Forged residence certificate.\n\n"}, committed)

    assert state_of(project) == "ineligible"
    entry = AuditEntry.objects.for_entity(project).order_by("-seq").first()
    assert entry.payload["failed_rules"] == [{"code": "officer", "message": "Forged residence certificate."}]
    assert process_for(project).status == STATUS.DONE


def test_returning_without_a_reason_shows_a_field_error_and_changes_nothing(
    client, cast, make_project, committed
):
    with committed():
        project = make_project("submitted")
    task = open_task(project, GrantFlow.screening)
    client.force_login(cast.officer)
    before = audit_trail(project)

    response = take_and_execute(client, task, {"decision": "return", "reason": "  "}, committed)

    assert response.status_code == 200
    assert response.context["form"].errors == {"reason": ["This field is required."]}
    assert state_of(project) == "submitted"
    assert audit_trail(project) == before
    task.refresh_from_db()
    assert task.status == STATUS.NEW


def test_returning_with_a_reason_sends_the_file_back_and_waits(client, cast, make_project, committed):
    with committed():
        project = make_project("submitted")
    client.force_login(cast.officer)
    take_and_execute(client, open_task(project, GrantFlow.screening),
                     {"decision": "return", "reason": "The CIN copy is unreadable."}, committed)

    assert state_of(project) == "draft"
    assert audit_trail(project)[-1] == "return_docs"
    assert open_task(project, GrantFlow.resubmission).owner == cast.agent


def test_an_unknown_choice_is_a_form_error_not_a_500(client, cast, make_project, committed):
    with committed():
        project = make_project("submitted")
    client.force_login(cast.officer)
    response = take_and_execute(client, open_task(project, GrantFlow.screening), {"decision": "approve"},
                                committed)
    assert response.status_code == 200
    assert "decision" in response.context["form"].errors
    assert state_of(project) == "submitted"


def test_separation_of_duties_is_shown_above_the_form(client, make_user, make_project, committed, cast):
    both = make_user(Role.ASSOCIATION_AGENT, Role.PROGRAM_OFFICER)
    project = make_project("draft")
    both = in_charge(project.pk, both, cast.officer)
    attach_required_documents(project, both)
    with committed():
        services.project_submit(project_id=project.pk, actor=both)
    client.force_login(both)

    response = take_and_execute(client, open_task(project, GrantFlow.screening), {"decision": "screen"}, committed)

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "You submitted this file; another program officer must screen it."
    ]
    assert state_of(project) == "submitted"


def test_training_signoff_then_launch_by_a_mentor_then_closure(client, cast, make_project, committed):
    with committed():
        project = make_project("in_training")
    signoff = open_task(project, GrantFlow.training_signoff)
    assert signoff.owner == cast.officer  # auto-assigned to the screener

    client.force_login(cast.officer)
    response = take_and_execute(client, signoff, {"confirm": ""}, committed)
    assert response.context["form"].errors == {"confirm": ["This field is required."]}
    take_and_execute(client, signoff, {"confirm": "on"}, committed)
    assert state_of(project) == "trained"

    with committed():
        services.project_open_funding(project_id=project.pk, actor=cast.finance)
        receive_equipment(project.pk, cast)
        funding.project_confirm_equipment(project_id=project.pk, actor=cast.officer)

    client.force_login(cast.mentor)
    take_and_execute(client, open_task(project, GrantFlow.launch), {"note": "Workshop opened."}, committed)
    assert "Workshop opened." in str(AuditEntry.objects.for_entity(project).order_by("-seq").first().payload)
    assert state_of(project) == "launched"

    closure = open_task(project, GrantFlow.closure)
    assert closure.owner == cast.officer  # who signed off the training
    client.force_login(cast.officer)
    response = take_and_execute(client, closure, {"outcome": "abandoned", "reason": ""}, committed)
    assert response.status_code == 200
    assert response.context["form"].errors == {"reason": ["This field is required."]}
    assert state_of(project) == "launched"

    with committed():  # success needs every follow-up visit reported
        report_followup(project.pk, cast)
    take_and_execute(client, closure, {"outcome": "success"}, committed)
    assert state_of(project) == "closed"
    assert audit_trail(project)[-4:] == ["open_funding", "equipment_received", "launch", "close"]
    assert process_for(project).status == STATUS.DONE


# --- project pages ----------------------------------------------------------------------------


def test_project_list_paginates_searches_and_filters(client, cast, make_project, make_beneficiary, committed):
    projects = [make_project("draft", title=f"Atelier {n:02d}") for n in range(21)]
    with committed():
        submitted = make_project("submitted", title="Boulangerie Zeghanghane",
                                 beneficiary=make_beneficiary(first_name="Nadia", last_name="Bouzidi"))
    client.force_login(cast.chair)

    first = client.get(reverse("projects:index"))
    assert first.status_code == 200
    assert len(first.context["projects"]) == 20 and first.context["page"].has_next
    second = client.get(reverse("projects:index"), {"after": first.context["page"].next_cursor})
    assert len(second.context["projects"]) == 2 and not second.context["page"].has_next
    assert projects[0] in second.context["projects"]  # oldest last
    assert {*first.context["projects"], *second.context["projects"]} == {*projects, submitted}

    def found(**params):
        return list(client.get(reverse("projects:index"), params).context["projects"])

    assert found(q="boulangerie") == [submitted]
    assert found(q="bouzidi") == [submitted]
    assert found(q=submitted.reference.lower()) == [submitted]
    assert found(state="submitted") == [submitted]
    assert found(q="Atelier", state="submitted") == []
    assert found(q="Atelier 07") == [projects[7]]
    # A bad filter is ignored, not a 500.
    assert client.get(reverse("projects:index"), {"state": "nonsense"}).status_code == 200


def test_page_links_keep_the_search(client, cast, make_project):
    for n in range(21):
        make_project("draft", title=f"Atelier {n:02d}")
    client.force_login(cast.officer)
    response = client.get(reverse("projects:index"), {"q": "Atelier"})
    cursor = response.context["page"].next_cursor
    assert f"?q=Atelier&amp;after={cursor}" in response.content.decode()


def test_detail_shows_summary_documents_and_timeline(client, cast, make_project, committed):
    with committed():
        project = make_project("submitted")
        services.project_return_docs(project_id=project.pk, actor=cast.officer, reason="Blurred business plan.")
    client.force_login(cast.officer)

    response = client.get(reverse("projects:detail", args=[project.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert project.reference in html
    assert "business_plan.pdf" in html
    rows = re.findall(r'<tr class="tamkeen-timeline-entry">(.*?)</tr>', html, re.S)
    assert len(rows) == 6
    assert "returned for documents" in rows[5] and "Blurred business plan." in rows[5] and "officer" in rows[5]
    assert [str(e.transition) for e in response.context["timeline"]] == [
        "file opened", "document attached", "document attached", "document attached", "submitted",
        "returned for documents"]
    assert "Document: business plan" in html  # the attachment's entry names its type


def test_cin_is_hidden_from_a_committee_member_and_shown_to_an_officer(
    client, cast, make_user, make_project, make_beneficiary, committed
):
    beneficiary = make_beneficiary(cin="S777001", has_disability=True, disability_proof="card")
    with committed():
        project = make_project("submitted", beneficiary=beneficiary)
    url = reverse("projects:detail", args=[project.pk])

    client.force_login(make_user(Role.COMMITTEE_MEMBER))
    html = client.get(url).content.decode()
    assert "S777001" not in html
    assert "national disability card" not in html
    assert "cin_copy.pdf" not in html and "disability_card.pdf" not in html
    assert "business_plan.pdf" in html

    client.force_login(cast.officer)
    html = client.get(url).content.decode()
    assert "S777001" in html
    assert "national disability card" in html
    assert "cin_copy.pdf" in html


def test_unknown_project_is_a_404(client, cast):
    client.force_login(cast.officer)
    assert client.get(reverse("projects:detail", args=[999999])).status_code == 404


# --- admin ----------------------------------------------------------------------------------------


def test_audit_admin_is_read_only(client, make_project):
    project = make_project("draft")
    entry = AuditEntry.objects.for_entity(project).get()
    admin_user = User.objects.create_superuser("root", "root@example.org", "pass-Tamkeen-2025")
    client.force_login(admin_user)

    changelist = client.get(reverse("admin:ledger_auditentry_changelist"))
    assert changelist.status_code == 200
    assert "action" not in changelist.context["cl"].model_admin.get_actions(changelist.wsgi_request)
    assert not changelist.context["cl"].model_admin.get_actions(changelist.wsgi_request)
    assert client.get(reverse("admin:ledger_auditentry_add")).status_code == 403
    assert client.get(reverse("admin:ledger_auditentry_delete", args=[entry.pk])).status_code == 403

    change_url = reverse("admin:ledger_auditentry_change", args=[entry.pk])
    assert client.get(change_url).status_code == 200  # view only
    client.post(change_url, {"transition": "forged"})
    assert AuditEntry.objects.get(pk=entry.pk).transition == "create"
