"""Each role's main action, end to end in Chromium, through the real login page.

The data a journey starts from is seeded through the services (``demo.scenarios``,
``tests._committee_support``); the action itself is done only through the pages, and
its result is then checked in the database and on the page. Screenshots of the key
pages land in ``var/screenshots/<journey>-<step>.png``.
"""

import re

import pytest
from django.utils import translation

from approvals.models import AgendaItem, Attendance, CommitteeSession, MinutesConfirmation, Vote
from core.roles import Role
from disbursements.models import Disbursement
from ledger.models import AuditEntry
from tests._committee_support import make_board
from tests.browser.conftest import PASSWORD
from workflow.models import GrantProject

pytestmark = pytest.mark.browser


def fresh(project) -> GrantProject:
    return GrantProject.objects.get(pk=project.pk)


def ar(message: str) -> str:
    """The label the Arabic page shows for ``message`` (its translation, or the message
    itself while it has none): the same catalogue the live server renders with."""
    with translation.override("ar"):
        return translation.gettext(message)


def click_and_wait(page, locator, url_pattern=None):
    """Click a link or button that loads a new page and wait for it."""
    with page.expect_navigation():
        locator.click()
    if url_pattern:
        page.wait_for_url(re.compile(url_pattern))


# --- The association agent submits an application --------------------------------------


def test_agent_submits_an_application(site, cast, program):
    # The whole intake through the pages: a new beneficiary and her project, the
    # program's required documents, then the submission.
    from workflow.flows import process_for
    from workflow.models import ActivitySector, Beneficiary, Commune

    page = site.login(cast.agent)
    page.goto("/projects/")
    click_and_wait(page, page.get_by_role("link", name="New application"), r"/projects/new/")

    form = page.locator("form.tamkeen-application-form")
    form.get_by_label("First name (Latin script)", exact=True).fill("Khadija")
    form.get_by_label("Last name (Latin script)", exact=True).fill("Bouazza")
    form.get_by_label("First name (Arabic)", exact=True).fill("خديجة")
    form.get_by_label("Last name (Arabic)", exact=True).fill("بوعزة")
    form.get_by_label("National ID (CIN)", exact=True).fill("s 654 321")
    form.get_by_label("Phone", exact=True).fill("06 61 22 33 44")
    form.locator("[name=gender]").select_option("F")
    form.locator("[name=birth_date]").fill("1988-03-14")
    form.locator("[name=commune]").select_option(str(Commune.objects.get(code="nador").pk))
    form.get_by_label("Woman in a difficult situation", exact=True).check()
    form.locator("[name=consent_given]").check()
    form.locator("[name=consent_date]").fill("2025-02-01")
    form.locator("[name=program]").select_option(str(program.pk))
    form.get_by_label("Project title", exact=True).fill("Atelier de couture Al Amal")
    form.locator("[name=sector]").select_option(str(ActivitySector.objects.get(code="sewing").pk))
    form.get_by_label("Description", exact=True).fill("Deux machines à coudre et une surjeteuse.")
    form.get_by_label("Requested amount (MAD)", exact=True).fill("52 500,00")
    form.get_by_label("Own contribution (MAD)", exact=True).fill("22 500,00")
    site.shot(page, "new-application")
    click_and_wait(page, form.get_by_role("button", name="Create the application"), r"/projects/\d+/$")

    project = GrantProject.objects.get(title="Atelier de couture Al Amal")
    assert Beneficiary.objects.get(cin="S654321").pk == project.beneficiary_id
    assert (project.state, str(project.requested_amount)) == ("draft", "52500.00")
    assert f"Application {project.reference} opened as a draft." in page.locator("body").inner_text()

    upload = page.locator("form.tamkeen-upload")
    for doc_type in program.required_documents:
        assert page.locator(".tamkeen-missing-document").count() == len(program.required_documents) - len(
            list(project.documents.all()))
        upload.locator("[name=doc_type]").select_option(doc_type)
        upload.locator("[name=file]").set_input_files(
            {"name": f"{doc_type}.pdf", "mimeType": "application/pdf", "buffer": f"%PDF-1.4 {doc_type}".encode()}
        )
        click_and_wait(page, upload.get_by_role("button", name="Upload"))
    assert page.locator(".tamkeen-missing-document").count() == 0
    assert project.documents.count() == len(program.required_documents)
    site.shot(page, "documents")

    page.get_by_label("I confirm the file is complete", exact=False).check()
    click_and_wait(page, page.get_by_role("button", name="Submit the application"))

    project = fresh(project)
    assert project.state == "submitted"
    assert project.submitted_by_id == cast.agent.pk
    submitted = AuditEntry.objects.for_entity(project).order_by("seq").last()
    assert (submitted.transition, submitted.actor_id) == ("submit", cast.agent.pk)
    assert process_for(project) is not None  # the officer's screening task exists
    body = page.locator("body").inner_text()
    assert f"Application {project.reference} submitted for screening." in body
    assert page.get_by_role("button", name="Submit the application").count() == 0
    site.shot(page, "project-page")


# --- The program officer screens a file and builds a committee agenda -------------------


def test_officer_screens_a_file_and_puts_it_on_an_agenda(site, cast, program, make_project, make_user):
    project = make_project("submitted")
    make_board(cast, program, make_user, n_members=2, name="Comité provincial de Nador")

    page = site.login(cast.officer)
    page.wait_for_url(re.compile(r"/inbox/$"))  # home: what waits for me
    screening = page.locator("tr.tamkeen-inbox-row[data-kind=screening]", has_text=project.reference)
    assert screening.count() == 1
    site.shot(page, "inbox")

    click_and_wait(page, screening.locator("a.tamkeen-inbox-open"), r"/projects/\d+/screen/\?next=")
    page.get_by_label("Screen the file against the program's eligibility rules").check()
    page.locator("textarea[name=note]").fill("Dossier complet, règles du programme respectées.")
    page.locator("input[name=confirm]").check()
    site.shot(page, "screening-form")
    click_and_wait(page, page.get_by_role("button", name="Record the screening"), r"/inbox/$")

    assert fresh(project).state == "eligible"
    screened = AuditEntry.objects.for_entity(project).order_by("seq").last()
    assert (screened.transition, screened.actor_id) == ("screen_ok", cast.officer.pk)
    assert page.locator("tr.tamkeen-inbox-row[data-kind=screening]").count() == 0  # the task is done

    # The next step, from the inbox: no session is planned, so the officer plans one
    # from the step's page, comes back to it and chooses it.
    agenda_task = page.locator("tr.tamkeen-inbox-row[data-kind=agenda]", has_text=project.reference)
    click_and_wait(page, agenda_task.locator("a.tamkeen-inbox-open"), r"/schedule/\?next=")
    click_and_wait(page, page.locator("li[data-action=plan_session] a"), r"/committees/new/\?next=")
    page.locator("input[name=title]").fill("Session d'avril")
    page.locator("input[name=scheduled_for]").fill("2031-04-15T09:30")
    page.locator("input[name=location]").fill("Province de Nador")
    click_and_wait(page, page.get_by_role("button", name="Plan the session"), r"/schedule/\?next=")
    session = CommitteeSession.objects.get(title="Session d'avril")
    assert (session.state, session.committee.name) == ("planned", "Comité provincial de Nador")
    page.locator(f"input[name=session][value='{session.pk}']").check()
    click_and_wait(page, page.get_by_role("button", name="Put on this session's agenda"), r"/inbox/$")

    item = AgendaItem.objects.get(session=session, project=project)
    assert not item.removed
    assert fresh(project).state == "in_committee"
    assert page.locator("tr.tamkeen-inbox-row[data-kind=agenda]").count() == 0
    page.goto(f"/committees/{session.pk}/agenda/")
    assert project.reference in page.locator("table").first.inner_text()
    site.shot(page, "agenda")


# --- Members vote and the chair closes the session --------------------------------------


def test_members_vote_and_the_chair_closes_the_session(site, cast, program, make_project, make_user):
    from tests._committee_support import plan_session

    project = make_project("eligible")
    board = make_board(cast, program, make_user, n_members=2)
    session, (item,) = plan_session(board, [project], title="Session de mai")

    # The officer records attendance on the agenda page.
    officer = site.login(cast.officer)
    officer.goto(f"/committees/{session.pk}/agenda/")
    for person in board.everyone:
        officer.locator(f"input[name=present][value='{person.pk}']").check()
    click_and_wait(officer, officer.get_by_role("button", name="Record attendance"))
    assert set(Attendance.objects.filter(session=session, present=True).values_list("user_id", flat=True)) == {
        u.pk for u in board.everyone
    }

    # The chair opens the session from the console (a confirmation step).
    chair = site.login(board.chair)
    chair.goto(f"/committees/{session.pk}/console/")
    click_and_wait(chair, chair.get_by_role("link", name="Open the session…"), r"/open/$")
    click_and_wait(chair, chair.get_by_role("button", name="Open the session", exact=True))
    assert CommitteeSession.objects.get(pk=session.pk).state == "open"

    # Two members declare no conflict and vote to approve.
    for n, member in enumerate(board.members):
        page = site.login(member)
        page.goto(f"/committees/{session.pk}/member/")
        page.get_by_label("I have no conflict of interest with this file").check()
        click_and_wait(page, page.get_by_role("button", name="Declare", exact=True))
        vote = page.locator("form.tamkeen-vote-form")
        vote.get_by_label("approve", exact=True).check()
        for score in vote.locator("fieldset.tamkeen-scores input").all():
            score.fill("4")
        vote.get_by_label("Comment").fill("Projet viable.")
        if n == 0:
            site.shot(page, "vote")
        click_and_wait(page, page.get_by_role("button", name="Record my vote"))
        assert Vote.objects.get(item=item, user=member).choice == "approve"
        assert "approve" in page.locator(".tamkeen-own-vote").inner_text()

    # The chair confirms the proposal, then closes the session for good.
    chair.goto(f"/committees/{session.pk}/console/")
    decision = chair.locator("form.tamkeen-decision-form")
    decision.get_by_label("Approved amount (MAD)").fill("55000")
    click_and_wait(chair, decision.get_by_role("button", name="Confirm"))
    assert AgendaItem.objects.get(pk=item.pk).confirmed_by_id == board.chair.pk
    click_and_wait(chair, chair.get_by_role("link", name="Close the session…"), r"/close/$")
    chair.locator("input[name=confirm]").check()
    click_and_wait(chair, chair.get_by_role("button", name="Close the session for good"))

    session = CommitteeSession.objects.get(pk=session.pk)
    assert session.state == "closed"
    project = fresh(project)
    assert (project.state, str(project.approved_amount)) == ("approved", "55000.00")
    chair.goto(f"/committees/{session.pk}/")
    assert chair.get_by_role("link", name="Download the minutes (PDF)").count() == 1
    site.shot(chair, "session-closed")

    # A member confirms the minutes with their password.
    member = site.login(board.members[0])
    member.goto(f"/committees/{session.pk}/minutes/confirm/")
    member.locator("input[name=password]").fill(PASSWORD)
    click_and_wait(member, member.get_by_role("button", name="Confirm the minutes"))
    assert MinutesConfirmation.objects.filter(session=session, user=board.members[0]).exists()
    assert board.members[0].username in member.locator("body").inner_text()


# --- Finance: request, authorize, release (three people) --------------------------------


def test_finance_request_authorize_and_release_a_disbursement(site, cast, make_project, make_user):
    project = make_project("funding", amount="60000.00")
    authorizer = make_user(Role.AUTHORIZING_OFFICER, username="ordonnateur")
    treasurer = make_user(Role.TREASURER, username="comptable")

    # The finance officer requests a tranche on the project's funding page.
    finance = site.login(cast.finance)
    finance.goto(f"/funding/projects/{project.pk}/")
    finance.locator("input[name=amount]").fill("12000")
    finance.locator("textarea[name=purpose]").fill("Première tranche : machines à coudre.")
    click_and_wait(finance, finance.get_by_role("button", name="Request the disbursement"))
    disbursement = Disbursement.objects.get(project=project)
    assert (disbursement.state, str(disbursement.amount), disbursement.requested_by_id) == (
        "requested", "12000.00", cast.finance.pk)

    # The authorizing officer authorizes it from the finance inbox.
    page = site.login(authorizer)
    page.goto("/funding/")
    click_and_wait(page, page.locator(f"form[action*='/disbursements/{disbursement.pk}/authorize/'] [type=submit]"))
    assert Disbursement.objects.get(pk=disbursement.pk).state == "authorized"
    assert f"{disbursement.reference} authorized" in page.locator("body").inner_text()

    # The treasurer releases it: password (step-up) and the confirmation box.
    page = site.login(treasurer)
    page.goto("/funding/")
    release = page.locator(f"form[action*='/disbursements/{disbursement.pk}/release/']")
    release.locator("input[name=password]").fill(PASSWORD)
    release.locator("input[name=payment_reference]").fill("VIR-2025-0042")
    release.locator("input[name=confirm]").check()
    click_and_wait(page, release.locator("[type=submit]"))

    disbursement = Disbursement.objects.get(pk=disbursement.pk)
    assert (disbursement.state, disbursement.payment_reference) == ("released", "VIR-2025-0042")
    assert disbursement.released_by_id == treasurer.pk
    assert disbursement.reference in page.locator("body").inner_text()
    page.goto(f"/funding/projects/{project.pk}/")
    assert "VIR-2025-0042" in page.locator("body").inner_text()
    site.shot(page, "disbursement-released")


# --- A mentor records a follow-up visit -------------------------------------------------


def test_mentor_records_a_follow_up_visit(site, cast, make_project):
    from django.utils import timezone

    from followup.models import FollowUpVisit, VisitReport

    project = make_project("launched")  # launched by the mentor: theirs to follow, plan made
    visit = FollowUpVisit.objects.filter(project=project).order_by("sequence").first()
    assert (visit.mentor_id, visit.state) == (cast.mentor.pk, "planned")

    page = site.login(cast.mentor)
    page.goto("/followup/")
    row = page.locator("tr", has=page.get_by_role("link", name=project.reference, exact=True)).first
    click_and_wait(page, row.get_by_role("link", name="Report the visit"), r"/report/$")
    form = page.locator("form:has([name=visited_on])")
    form.locator("[name=visited_on]").fill(timezone.localdate().isoformat())
    form.locator("[name=activity_running][value=yes]").check()
    form.locator("[name=monthly_revenue]").fill("4500")
    form.locator("[name=monthly_profit]").fill("1800")
    form.locator("[name=jobs_created]").fill("1")
    form.locator("[name=equipment_present][value=yes]").check()
    form.locator("[name=equipment_in_use][value=yes]").check()
    form.locator("[name=legal_status]").select_option("auto_entrepreneur")
    form.locator("[name=sales_channels][value=souk]").check()
    form.locator("[name=income_control]").select_option("beneficiary")
    form.locator("[name=difficulties]").fill("Approvisionnement en tissu irrégulier.")
    form.locator("[name=recommendation]").select_option("continue")
    site.shot(page, "visit-form")
    click_and_wait(page, form.get_by_role("button", name="Save the report"))

    visit = FollowUpVisit.objects.get(pk=visit.pk)
    assert visit.state == "reported"
    report = VisitReport.objects.get(visit=visit)
    assert (str(report.monthly_revenue), report.jobs_created, report.recommendation) == ("4500.00", 1, "continue")
    reported = AuditEntry.objects.for_entity(visit).order_by("seq").last()
    assert (reported.to_state, reported.actor_id) == ("reported", cast.mentor.pk)
    assert f"Visit {visit.sequence} of {project.reference} reported." in page.locator("body").inner_text()
    site.shot(page, "visit-reported")


# --- The auditor verifies the ledger, entirely in Arabic --------------------------------


def test_auditor_verifies_the_ledger_in_arabic(site, cast, make_project, make_user):
    project = make_project("approved")
    auditor = make_user(Role.AUDITOR, username="auditrice")

    page = site.login(auditor)
    page.goto("/projects/")
    assert page.locator("html").get_attribute("dir") == "ltr"
    with page.expect_navigation():
        page.get_by_label("Language").select_option("ar")  # the switch submits itself
    assert page.locator("html").get_attribute("lang") == "ar"
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert page.get_by_label(ar("Language")).count() == 1

    click_and_wait(page, page.get_by_role("link", name=project.reference))
    site.shot(page, "project-page")
    entries_before = AuditEntry.objects.count()
    click_and_wait(page, page.get_by_role("button", name=ar("Verify now")))

    message = page.locator("body").inner_text()
    assert ar("Audit chain NOT intact: %(problem)s").split("%")[0] not in message
    entries = AuditEntry.objects.for_entity(project).count()
    assert str(entries) in message or f"{entries:d}".translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")) in message
    assert AuditEntry.objects.count() == entries_before  # verifying writes nothing
    assert (page.locator("html").get_attribute("lang"), page.locator("html").get_attribute("dir")) == ("ar", "rtl")
    site.shot(page, "verification-result")
