"""One new file carried through the whole product in Chromium, each step by the person
whose step it is, from that person's inbox.

Only the people are made in Python (administrators create users outside this flow).
Everything else — the program, its committee and training plan, the application, the
committee sessions, the training, the purchases, the tranches, the visits — is made on
the pages. Flow steps are opened from the inbox row's link; what is not a flow step (the
program's set-up, the application itself, a training session, a tranche's request) is
reached from the menu. The one thing no person does is the passing of time: the beat
fires the follow-up visits' timers, which ``fire_timers_due_by`` stands in for.
"""

import re
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from core.roles import Role
from tests.browser.conftest import PASSWORD
from workflow.models import GrantProject

pytestmark = pytest.mark.browser

PROGRAM_CODE = "agr-nador-journey"


def ar(message: str) -> str:
    """The label the Arabic page shows for ``message``: the live server's catalogue."""
    with translation.override("ar"):
        return translation.gettext(message)


# --- The people: one per role (the committee has a chair and two members) ---------------


@dataclass
class People:
    officer: object
    agent: object
    chair: object
    members: list
    trainer: object
    finance: object
    authorizer: object
    treasurer: object
    mentor: object
    auditor: object

    @property
    def everyone(self):
        return [self.officer, self.agent, self.chair, *self.members, self.trainer, self.finance,
                self.authorizer, self.treasurer, self.mentor, self.auditor]


@pytest.fixture
def people(make_user):
    def person(role, username, first, last, *more):
        user = make_user(role, *more, username=username)
        user.first_name, user.last_name = first, last
        user.save(update_fields=["first_name", "last_name"])
        return user

    return People(
        officer=person(Role.PROGRAM_OFFICER, "officer", "Samira", "Benali"),
        agent=person(Role.ASSOCIATION_AGENT, "agent", "Youssef", "Haddou"),
        chair=person(Role.COMMITTEE_CHAIR, "chair", "Karim", "Ouali", Role.COMMITTEE_MEMBER),
        members=[person(Role.COMMITTEE_MEMBER, "member1", "Nadia", "Amrani"),
                 person(Role.COMMITTEE_MEMBER, "member2", "Hassan", "Tahiri")],
        trainer=person(Role.TRAINER, "trainer", "Leila", "Mansouri"),
        finance=person(Role.FINANCE_OFFICER, "finance", "Omar", "Bakkali"),
        authorizer=person(Role.AUTHORIZING_OFFICER, "ordonnateur", "Rachid", "Idrissi"),
        treasurer=person(Role.TREASURER, "comptable", "Fatiha", "Zerouali"),
        mentor=person(Role.MENTOR, "mentor", "Mohamed", "Azzouzi"),
        auditor=person(Role.AUDITOR, "auditor", "Salma", "Kettani"),
    )


# --- Pages: one signed-in page per person, kept for the whole journey -------------------


@dataclass
class Desk:
    """Each person's browser page, signed in once, in the journey's language."""

    site: object
    language: str = "en"
    pages: dict = field(default_factory=dict)

    def of(self, user):
        """``user``'s page; the first time, signed in (and switched to the journey's
        language with the page's own switch, which keeps it as their preference)."""
        page = self.pages.get(user.pk)
        if page is None:
            page = self.pages[user.pk] = self.site.login(user)
            if self.language != "en":
                to_inbox(page)
                with page.expect_navigation():
                    page.locator("select[name=language]").first.select_option(self.language)
        html = page.locator("html")
        assert (html.get_attribute("lang"), html.get_attribute("dir")) == (self.language, self.direction), page.url
        return page

    @property
    def direction(self):
        return "rtl" if self.language == "ar" else "ltr"

    def label(self, message):
        return ar(message) if self.language == "ar" else message


def click_and_wait(page, locator):
    """Click a link or button that loads a new page, and wait for its document (not its
    images and fonts: the next step only needs the page's elements)."""
    with page.expect_navigation(wait_until="domcontentloaded"):
        locator.click()


def to_inbox(page):
    """Home: ``/`` is the inbox, what waits for me."""
    page.goto("/", wait_until="domcontentloaded")
    assert page.url.endswith("/inbox/"), page.url


def inbox_rows(page, about=None):
    to_inbox(page)
    rows = page.locator("tr.tamkeen-inbox-row")
    return rows.filter(has_text=about) if about else rows


def open_task(page, kind, about, opens=""):
    """Open, from the inbox, the task ``kind`` (a flow node's name) about ``about``
    (whose link opens ``opens``, when given)."""
    rows = inbox_rows(page, about).and_(page.locator(f"[data-kind={kind}]"))
    if opens:
        rows = rows.filter(has=page.locator(f"a[href^='{opens}?']"))
    assert rows.count() == 1, f"{kind} about {about}: {rows.count()} rows in {page.url}"
    click_and_wait(page, rows.locator("a.tamkeen-inbox-open"))


def menu(page, *hrefs):
    """From the inbox, follow the menu's links to ``hrefs`` in turn (a section, then one
    of its pages)."""
    to_inbox(page)
    for href in hrefs:
        click_and_wait(page, page.locator(f"a[href='{href}']").first)


def take_action(page, name):
    """Click the action ``name`` in an object's action list."""
    click_and_wait(page, page.locator(f"li[data-action='{name}'] a").first)


def fill(page, scope=None, **fields):
    """Fill inputs by their name: text, select (by value), checkbox (True), radio (its value)."""
    scope = scope or page
    for name, value in fields.items():
        inputs = scope.locator(f"[name='{name}']")
        first = inputs.first
        tag = first.evaluate("e => e.tagName.toLowerCase() + ':' + (e.type || '')")
        if tag.startswith("select"):
            first.select_option(str(value))
        elif tag.endswith(":checkbox") and isinstance(value, bool):
            first.set_checked(value)
        elif tag.endswith(":checkbox"):
            wanted = {str(item) for item in value}
            for box in inputs.all():
                box.set_checked(box.get_attribute("value") in wanted)
        elif tag.endswith(":radio"):
            scope.locator(f"[name='{name}'][value='{value}']").check()
        else:
            first.fill(str(value))


def submit_action(page, **fields):
    """Submit the page's one action form (``core/action_form.html``): its fields, the
    confirmation box and the password when it asks for them."""
    form = page.locator(".tamkeen-action form")
    fill(page, form, **fields)
    if form.locator("input[name=confirm]").count():
        form.locator("input[name=confirm]").check()
    if form.locator("input[name=password]").count():
        form.locator("input[name=password]").fill(PASSWORD)
    click_and_wait(page, form.locator("button[name=_action]"))
    errors = page.locator(".tamkeen-action .errorlist, .tamkeen-action .tamkeen-form-errors")
    assert errors.count() == 0, errors.first.inner_text()


def fresh(project) -> GrantProject:
    return GrantProject.objects.get(pk=project.pk)


# --- The program officer sets the program up ------------------------------------------


def set_up_program(desk, people):
    """The program with its envelope, ceiling, required documents and follow-up months;
    its committee (a chair, two members); its training plan (one mandatory module)."""
    from approvals.models import CommitteeMember
    from training.models import ProgramModule
    from workflow.models import Program

    officer = desk.of(people.officer)
    menu(officer, "/programs/")
    click_and_wait(officer, officer.locator("a.tamkeen-new-program"))
    submit_action(
        officer, code=PROGRAM_CODE, name="AGR Nador", year=timezone.localdate().year, province="Nador",
        envelope="2 000 000,00", project_ceiling="80 000,00",
        required_documents=["cin_copy", "business_plan"], followup_offsets="3, 6",
    )
    program = Program.objects.get(code=PROGRAM_CODE)
    assert officer.url.endswith(f"/programs/{program.pk}/")

    # Its committee: the chair first, then two members seated.
    take_action(officer, "committee_create")
    submit_action(officer, name="Comité provincial AGR", chair=people.chair.pk)
    for member in people.members:
        take_action(officer, "seat_member")
        submit_action(officer, user=member.pk, role="member")

    # Its training plan: one mandatory module.
    click_and_wait(officer, officer.locator(f"a[href='/programs/{program.pk}/']").first)
    take_action(officer, "plan_module")
    submit_action(officer, module=_module_pk("project-management"), planned_hours="3", mandatory=True)

    desk.site.shot(officer, "training-plan")
    program = Program.objects.get(pk=program.pk)
    assert (str(program.envelope), str(program.project_ceiling), program.required_documents,
            program.followup_offsets) == ("2000000.00", "80000.00", ["cin_copy", "business_plan"], [3, 6])
    seats = CommitteeMember.objects.filter(committee__program=program)
    assert sorted(seats.values_list("user_id", "role")) == sorted(
        [(people.chair.pk, "chair"), *((member.pk, "member") for member in people.members)])
    assert list(ProgramModule.objects.filter(program=program).values_list(
        "module__code", "planned_hours", "mandatory")) == [("project-management", Decimal("3"), True)]
    return program


def _module_pk(code):
    from training.models import TrainingModule

    return TrainingModule.objects.get(code=code).pk


# --- The association agent applies -------------------------------------------------------


def apply(desk, people, program):
    from workflow.models import ActivitySector, Commune

    agent = desk.of(people.agent)
    menu(agent, "/projects/")
    click_and_wait(agent, agent.locator("a[href$='/projects/new/']").first)
    form = agent.locator("form.tamkeen-application-form")
    fill(agent, form, first_name="Khadija", last_name="Bouazza", first_name_ar="خديجة", last_name_ar="بوعزة",
         cin="S 654 321", phone="06 61 22 33 44", gender="F", birth_date="1988-03-14",
         commune=Commune.objects.get(code="nador").pk, is_woman_in_difficulty=True, consent_given=True,
         consent_date=timezone.localdate().isoformat(), program=program.pk, title="Atelier de couture Al Amal",
         sector=ActivitySector.objects.get(code="sewing").pk,
         description="Deux machines à coudre et une surjeteuse.",
         requested_amount="60 000,00", own_contribution="30 000,00")
    click_and_wait(agent, form.locator("[type=submit]").last)
    project = GrantProject.objects.get(title="Atelier de couture Al Amal")
    assert agent.url.endswith(f"/projects/{project.pk}/")

    upload = agent.locator("form.tamkeen-upload")
    for doc_type in program.required_documents:
        fill(agent, upload, doc_type=doc_type)
        upload.locator("[name=file]").set_input_files(
            {"name": f"{doc_type}.pdf", "mimeType": "application/pdf", "buffer": f"%PDF-1.4 {doc_type}".encode()})
        click_and_wait(agent, upload.locator("[type=submit]"))
    desk.site.shot(agent, "application")
    submit = agent.locator(".tamkeen-submit form")
    submit.locator("input[name=confirm]").check()
    click_and_wait(agent, submit.locator("[type=submit]"))
    project = fresh(project)
    assert project.state == "submitted"
    return project


# --- Screening and the agenda (the program officer) ------------------------------------


def screen(desk, people, project, note):
    officer = desk.of(people.officer)
    open_task(officer, "screening", project.reference)
    submit_action(officer, decision="screen", note=note)
    assert officer.url.endswith("/inbox/")  # back where the step was opened from
    assert fresh(project).state == "eligible"


def put_on_an_agenda(desk, people, project, title, when):
    """The agenda step: no session is planned, so the officer plans one from the step's
    page and comes back to choose it."""
    from approvals.models import CommitteeSession

    officer = desk.of(people.officer)
    open_task(officer, "agenda", project.reference)
    take_action(officer, "plan_session")
    form = officer.locator("form:has([name=title])")
    fill(officer, form, title=title, scheduled_for=when.strftime("%Y-%m-%dT%H:%M"), location="Province de Nador")
    click_and_wait(officer, form.locator("[type=submit]"))
    session = CommitteeSession.objects.get(title=title)
    assert re.search(rf"/committees/projects/{project.pk}/schedule/", officer.url)
    submit_action(officer, session=session.pk)
    assert officer.url.endswith("/inbox/")
    assert fresh(project).state == "in_committee"
    return session


# --- The committee meets -------------------------------------------------------------------


def hold_committee(desk, people, project, session, vote, **decision):
    """Attendance (officer), opening (chair), each member's declaration and vote, the
    chair's decision and closing, then each member's confirmation of the minutes — every
    step from its person's inbox."""
    from approvals.models import CommitteeSession

    subject = session.title
    committee = [people.chair, *people.members]
    officer = desk.of(people.officer)
    open_task(officer, "preparation", subject)
    attendance = officer.locator("form.tamkeen-attendance")
    fill(officer, attendance, present=[person.pk for person in committee])
    click_and_wait(officer, attendance.locator("[type=submit]"))

    chair = desk.of(people.chair)
    open_task(chair, "opening", subject)
    click_and_wait(chair, chair.locator("a[data-action=open]").first)
    click_and_wait(chair, chair.locator(".vf-card form[method=post] button[type=submit]"))
    assert CommitteeSession.objects.get(pk=session.pk).state == "open"

    for person in committee:
        page = desk.of(person)
        open_task(page, "ballot", subject)
        declaration = page.locator("form.tamkeen-declaration-form")
        fill(page, declaration, **{f"item{_item(session, project).pk}-has_conflict": "none"})
        click_and_wait(page, declaration.locator("[type=submit]"))
        ballot = page.locator("form.tamkeen-vote-form")
        prefix = f"item{_item(session, project).pk}"
        fill(page, ballot, **{f"{prefix}-choice": vote, f"{prefix}-comment": "Vu en séance."})
        desk.site.shot(page, f"ballot-{vote}")
        click_and_wait(page, ballot.locator("[type=submit]"))

    open_task(chair, "closing", subject)
    form = chair.locator("form.tamkeen-decision-form")
    prefix = f"decision{_item(session, project).pk}"
    fill(chair, form, **{f"{prefix}-{name}": value for name, value in decision.items()})
    click_and_wait(chair, form.locator("[type=submit]"))
    click_and_wait(chair, chair.locator("a[data-action=close]").first)
    chair.locator("input[name=confirm]").check()
    click_and_wait(chair, chair.locator("form:has(input[name=confirm]) [type=submit]"))
    assert CommitteeSession.objects.get(pk=session.pk).state == "closed"

    for person in committee:
        page = desk.of(person)
        open_task(page, "minutes_confirmation", subject)
        page.locator("input[name=password]").fill(PASSWORD)
        click_and_wait(page, page.locator("form:has(input[name=password]) [type=submit]"))


def _item(session, project):
    from approvals.models import AgendaItem

    return AgendaItem.objects.get(session=session, project=project, removed=False)


def resubmit(desk, people, project):
    """The agent's "complete and resubmit" step opens the file; its action list offers
    the resubmission."""
    agent = desk.of(people.agent)
    open_task(agent, "resubmission", project.reference)
    take_action(agent, "resubmit")
    submit_action(agent)
    assert fresh(project).state == "submitted"


# --- Training ---------------------------------------------------------------------------------


def train(desk, people, project, program):
    """Enrolment (officer); a session today and its attendance (the trainer, from the
    training menu: sessions are not flow steps); the sign-off (officer)."""
    from training.models import AttendanceRecord

    officer = desk.of(people.officer)
    open_task(officer, "enrolment", project.reference)
    submit_action(officer)
    assert fresh(project).state == "in_training"

    trainer = desk.of(people.trainer)
    menu(trainer, "/training/")
    click_and_wait(trainer, trainer.locator("a.mdc-button[href$='/training/sessions/new/']"))
    form = trainer.locator("form:has([name=hours])")
    fill(trainer, form, program=program.pk, module=_module_pk("project-management"),
         date=timezone.localdate().isoformat(), start_time="08:30", hours="3", place="Incubateur, Nador")
    click_and_wait(trainer, form.locator("[type=submit]"))
    click_and_wait(trainer, trainer.locator("a.tamkeen-attendance-link").first)
    roster = trainer.locator("form.tamkeen-attendance-form")
    roster.locator(f"input[name=present][value='{project.pk}']").check()
    click_and_wait(trainer, roster.locator("[type=submit]"))
    assert AttendanceRecord.objects.get(project=project).present

    open_task(officer, "training_signoff", project.reference)
    submit_action(officer)
    assert fresh(project).state == "trained"


# --- Funding and equipment -------------------------------------------------------------------

PLAN = [("Machine à coudre industrielle", "2", "18 000,00"), ("Surjeteuse", "1", "15 000,00")]
QUOTES = [("Équipements du Rif", "51 000,00"), ("Nador Machines", "53 500,00"), ("Atlas Couture", "55 200,00")]


def equip(desk, people, project):
    """Funding opened, the plan, one order with three quotes, the choice, the issue
    (finance officer); the delivery, the receipt report signed by the mentor and
    witnessed by the agent, the reception (mentor); the equipment confirmed (officer)."""
    from disbursements.models import PurchaseOrder, Quote, Supplier

    finance = desk.of(people.finance)
    open_task(finance, "funding", project.reference)
    submit_action(finance)
    assert fresh(project).state == "funding"

    open_task(finance, "procurement", project.reference)
    take_action(finance, "equipment_plan")
    for description, quantity, price in PLAN:
        submit_action(finance, description=description, quantity=quantity, unit_price=price)
    open_task(finance, "procurement", project.reference)
    take_action(finance, "create_order")
    submit_action(finance, description="Deux machines à coudre industrielles et une surjeteuse.")
    order = PurchaseOrder.objects.get(project=project)

    # The suppliers to ask quotes from: none is registered yet (the suppliers' list).
    for supplier, _amount in QUOTES:
        menu(finance, "/funding/", "/funding/suppliers/")
        click_and_wait(finance, finance.locator("a.mdc-button[href$='/funding/suppliers/new/']"))
        submit_action(finance, name=supplier, city="Nador")
    open_task(finance, "quotes", order.reference)
    for supplier, amount in QUOTES:
        take_action(finance, "add_quote")
        submit_action(finance, supplier=Supplier.objects.get(name=supplier).pk, amount=amount,
                      reference=f"DEV-{supplier[:3].upper()}")
    cheapest = Quote.objects.get(order=order, supplier__name=QUOTES[0][0])
    take_action(finance, "choose_quote")
    submit_action(finance, quote=cheapest.pk, reason="Le moins-disant des trois devis conformes.")

    open_task(finance, "issue", order.reference)
    submit_action(finance)

    mentor = desk.of(people.mentor)
    open_task(mentor, "delivery", order.reference)
    submit_action(mentor, note="Livré à l'atelier.")
    open_task(mentor, "mentor_signature", order.reference)
    submit_action(mentor)
    agent = desk.of(people.agent)
    open_task(agent, "beneficiary_witness", order.reference)
    submit_action(agent)
    open_task(mentor, "reception", order.reference)
    submit_action(mentor)
    assert PurchaseOrder.objects.get(pk=order.pk).state == "received"

    officer = desk.of(people.officer)
    open_task(officer, "equipment_check", project.reference)
    desk.site.shot(officer, "equipment-check")
    submit_action(officer)
    assert fresh(project).state == "equipped"
    return order


# --- Tranches: three people each ------------------------------------------------------------------


def pay_tranche(desk, people, project, amount, purpose, payment_reference, order=None):
    """The finance officer requests it from the file's funding page (a tranche is not a
    flow step until it is requested); the authorizing officer and the treasurer take
    their steps from their inboxes (the treasurer types the password again)."""
    from disbursements.models import Disbursement

    finance = desk.of(people.finance)
    menu(finance, "/projects/")
    click_and_wait(finance, finance.locator(f"a[href$='/projects/{project.pk}/']").first)
    take_action(finance, "funding")
    request = finance.locator(".tamkeen-request form")
    fill(finance, request, amount=amount, purpose=purpose, **({"purchase_order": order.pk} if order else {}))
    before = set(Disbursement.objects.filter(project=project).values_list("pk", flat=True))
    click_and_wait(finance, request.locator("[type=submit]"))
    (tranche,) = Disbursement.objects.filter(project=project).exclude(pk__in=before)
    assert (tranche.state, tranche.requested_by_id) == ("requested", people.finance.pk)

    authorizer = desk.of(people.authorizer)
    open_task(authorizer, "authorization", tranche.reference)
    click_and_wait(authorizer, authorizer.locator(f"form[action*='/disbursements/{tranche.pk}/authorize/'] [type=submit]"))
    assert Disbursement.objects.get(pk=tranche.pk).state == "authorized"

    treasurer = desk.of(people.treasurer)
    open_task(treasurer, "release", tranche.reference)
    release = treasurer.locator(f"form[action*='/disbursements/{tranche.pk}/release/']")
    fill(treasurer, release, password=PASSWORD, payment_reference=payment_reference, confirm=True)
    desk.site.shot(treasurer, "release")
    click_and_wait(treasurer, release.locator("[type=submit]"))
    tranche = Disbursement.objects.get(pk=tranche.pk)
    assert (tranche.state, tranche.authorized_by_id, tranche.released_by_id) == (
        "released", people.authorizer.pk, people.treasurer.pk)
    return tranche


# --- Launch, follow-up, closure ----------------------------------------------------------------------


def launch_and_follow(desk, people, project):
    """The mentor launches; months later the visits come due — the beat fires their
    timers, ``fire_timers_due_by`` here — and the mentor reports each from the inbox."""
    from followup.models import FollowUpVisit

    mentor = desk.of(people.mentor)
    open_task(mentor, "launch", project.reference)
    submit_action(mentor, note="L'atelier ouvre ses portes.")
    assert fresh(project).state == "launched"
    visits = list(FollowUpVisit.objects.filter(project=project).order_by("sequence"))
    assert [visit.state for visit in visits] == ["planned", "planned"]
    assert inbox_rows(mentor, project.reference).and_(mentor.locator("[data-kind=report]")).count() == 0

    # What the beat does every minute, here at the moment the last visit comes due.
    from tests._flows import fire_timers_due_by

    fire_timers_due_by(timezone.now() + timedelta(days=31 * 7))
    for visit in visits:
        open_task(mentor, "report", project.reference, opens=f"/followup/visits/{visit.pk}/report/")
        form = mentor.locator("form:has([name=visited_on])")
        fill(mentor, form, visited_on=timezone.localdate().isoformat(), activity_running="yes",
             monthly_revenue="4500", monthly_profit="1800", jobs_created="1", equipment_present="yes",
             equipment_in_use="yes", legal_status="auto_entrepreneur", sales_channels=["souk"],
             income_control="beneficiary", difficulties="Approvisionnement en tissu irrégulier.",
             recommendation="continue")
        desk.site.shot(mentor, f"visit-{visit.sequence}")
        click_and_wait(mentor, form.locator("[type=submit]"))
        assert FollowUpVisit.objects.get(pk=visit.pk).state == "reported"


def close(desk, people, project):
    officer = desk.of(people.officer)
    open_task(officer, "closure", project.reference)
    form = officer.locator("form:has([name=outcome])")
    fill(officer, form, outcome="success", reason="Activité stable, deux visites concluantes.")
    if form.locator("input[name=confirm]").count():
        form.locator("input[name=confirm]").check()
    click_and_wait(officer, form.locator("[type=submit]"))
    assert fresh(project).state == "closed"


# --- The end: the file's state, its history, the ledger, the inboxes -------------------------------


def check_the_end(desk, people, project, state, transitions, waiting=()):
    """The file is in ``state``; its audit chain holds exactly ``transitions`` — (name,
    who made it) — which its page shows an auditor who verifies it; the whole ledger
    verifies; no inbox holds a task about the file but the steps ``waiting`` (flow node
    names)."""
    from ledger.models import AuditEntry
    from tests._audit_support import run_audit_verify
    from workflow.engine import file_processes
    from workflow.inbox import inbox_tasks

    assert fresh(project).state == state
    chain = list(AuditEntry.objects.for_entity(project).order_by("seq").values_list("transition", "actor_id"))
    assert chain == [(name, person.pk) for name, person in transitions]

    auditor = desk.of(people.auditor)
    menu(auditor, "/projects/")
    click_and_wait(auditor, auditor.locator(f"a[href$='/projects/{project.pk}/']").first)
    assert auditor.locator("tr.tamkeen-timeline-entry").count() == len(transitions)
    click_and_wait(auditor, auditor.locator(f"form[action$='/projects/{project.pk}/verify/'] [type=submit]"))
    assert auditor.locator(".tamkeen-verification--ok").count() == 1
    assert auditor.locator(".tamkeen-message--error").count() == 0
    desk.site.shot(auditor, "verified")
    ok, report = run_audit_verify("--full")
    assert ok, report

    # The file's own steps and those of its orders, tranches, visits and sessions.
    processes = {p.pk for p in file_processes(project.pk)} | set(
        _session_processes(project).values_list("pk", flat=True))
    for person in people.everyone:
        left = [task.flow_task.name for task in inbox_tasks(person) if task.process_id in processes]
        assert sorted(left) == sorted(name for name in waiting if person.has_perm(_permission(name))), person
        page = desk.of(person)
        assert inbox_rows(page, project.reference).count() == len(left), person
        if person == people.officer:
            desk.site.shot(page, "officer-inbox")
        if not inbox_tasks(person).exists():
            nothing = desk.label("Nothing waits for you: every task of your roles is done.")
            assert page.locator(".tamkeen-empty").inner_text() == nothing


def _session_processes(project):
    from django.contrib.contenttypes.models import ContentType
    from viewflow.workflow.models import Process

    from approvals.models import AgendaItem, CommitteeSession

    sessions = AgendaItem.objects.filter(project=project).values("session_id")
    return Process.objects.filter(artifact_content_type=ContentType.objects.get_for_model(CommitteeSession),
                                  artifact_object_id__in=sessions)


def _permission(node_name):
    from workflow.flows import GrantFlow

    return getattr(GrantFlow, node_name)._owner_permission


# --- The journeys ---------------------------------------------------------------------------


def to_the_first_release(desk, people):
    """From an empty program to the first tranche released, every step on the pages."""
    program = set_up_program(desk, people)
    project = apply(desk, people, program)
    screen(desk, people, project, "Dossier complet, règles du programme respectées.")
    session = put_on_an_agenda(desk, people, project, "Session de mars", timezone.localtime() + timedelta(days=1))
    hold_committee(desk, people, project, session, "revise", reason="Préciser la liste des équipements.")
    assert fresh(project).state == "revision_requested"
    resubmit(desk, people, project)
    screen(desk, people, project, "Liste des équipements précisée.")
    session = put_on_an_agenda(desk, people, project, "Session d'avril", timezone.localtime() + timedelta(days=2))
    hold_committee(desk, people, project, session, "approve", amount="60 000,00")
    assert (fresh(project).state, str(fresh(project).approved_amount)) == ("approved", "60000.00")
    train(desk, people, project, program)
    order = equip(desk, people, project)
    pay_tranche(desk, people, project, "51 000,00", "Paiement du fournisseur.", "VIR-0001", order)
    return project


def up_to_equipped(people):
    """The file's chain to its first release: each transition with who made it."""
    agent, officer, chair = people.agent, people.officer, people.chair
    return [
        ("create", agent), ("attach_document", agent), ("attach_document", agent), ("submit", agent),
        ("screen_ok", officer), ("schedule", officer), ("decide_revise", chair), ("resubmit", agent),
        ("screen_ok", officer), ("schedule", officer), ("decide_approve", chair), ("enrol", officer),
        ("complete_training", officer), ("open_funding", people.finance), ("equipment_received", officer),
    ]


def test_a_new_file_from_an_empty_program_to_its_closure(site, people):
    from disbursements.models import Disbursement

    desk = Desk(site)
    project = to_the_first_release(desk, people)
    pay_tranche(desk, people, project, "9 000,00", "Fonds de roulement.", "VIR-0002")
    launch_and_follow(desk, people, project)
    close(desk, people, project)

    released = Disbursement.objects.filter(project=project, state="released").order_by("pk")
    assert [str(d.amount) for d in released] == ["51000.00", "9000.00"]
    check_the_end(desk, people, project, "closed",
                  [*up_to_equipped(people), ("launch", people.mentor), ("close", people.officer)])


def test_a_new_file_to_its_first_release_in_arabic(site, people):
    desk = Desk(site, language="ar")
    project = to_the_first_release(desk, people)

    # The file waits for its launch: the mentor's step (a program officer may take it too).
    check_the_end(desk, people, project, "equipped", up_to_equipped(people), waiting=["launch"])
