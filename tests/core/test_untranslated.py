"""No page shows an untranslated string when Arabic or French is selected (issue 7).

Each main role signs in, picks the language with the cookie the switch sets, and walks the
main pages (by URL name: pages that do not exist yet are skipped, and walked as soon as
they land). From each page we take the visible text — text nodes outside scripts and
styles, plus the title, placeholder, aria-label and alt attributes and button values —
and compare it with the catalogs:

* a text equal to a msgid of our catalog (which lists viewflow's page strings too) whose
  translation is not that same text is untranslated ("OK" translated "OK" is fine);
  msgids with placeholders match as patterns ("1-20 of 45");
* on an Arabic page, a text equal to the French translation of such a msgid is Django's
  fallback to the default language: untranslated in Arabic;
* a text made only of ASCII words, with at least two English function words, that is not
  data held in the database (names, titles, reasons) is English no catalog knows about
  (a template string outside {% translate %}).

Proper nouns, numbers, references and amounts are never msgids, so they never match.
Elements marked with another ``lang`` (the language names of the switch) are skipped.
"""

import re
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.test import Client
from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.utils.translation import trans_real

from core.roles import Role
from tests._i18n_walker import Catalog, data_strings, people_names, problems_on

pytestmark = pytest.mark.django_db

LANGUAGES = ("ar", "fr")
SWITCH = 'class="tamkeen-language"'


# --- The world walked ----------------------------------------------------------------------

@pytest.fixture
def world(cast, make_user, make_project, program, django_capture_on_commit_callbacks):
    from demo.scenarios import plan_session

    people = {
        "association_agent": cast.agent,
        "program_officer": cast.officer,
        "committee_chair": cast.chair,
        "finance_officer": cast.finance,
        "mentor": cast.mentor,
        "committee_member": make_user(Role.COMMITTEE_MEMBER, username="member"),
        "trainer": make_user(Role.TRAINER, username="trainer"),
        "authorizing_officer": make_user(Role.AUTHORIZING_OFFICER, username="ordonnateur"),
        "treasurer": make_user(Role.TREASURER, username="comptable"),
        "auditor": make_user(Role.AUDITOR, username="auditrice"),
    }
    # The grant flow follows the projects after commit: run those callbacks, so the roles
    # have tasks in their inboxes and task pages to walk.
    with django_capture_on_commit_callbacks(execute=True):
        projects = _projects(make_project)
    session = plan_session(program, cast, [projects["eligible"].pk])
    return {"people": people, "projects": projects, "session": session, "program": program}


def _projects(make_project):
    return {
        "draft": make_project("draft"),
        "submitted": make_project("submitted"),
        "eligible": make_project("eligible"),
        "approved": make_project("approved", amount="55000.00"),
        "funding": make_project("funding", amount="60000.00"),
        "launched": make_project("launched", amount="50000.00"),
    }


def pages(world) -> list[str]:
    """The main pages, by URL name; names not (yet) defined are skipped."""
    projects, session = world["projects"], world["session"]
    launched = projects["launched"].pk
    named = [
        ("grant:inbox", {}), ("grant:queue", {}), ("grant:archive", {}), ("grant:index", {}),
        ("projects:index", {}), ("projects:index", {"query": "?q=zzz-nothing"}),
        ("projects:detail", {"pk": projects["approved"].pk}),
        ("projects:detail", {"pk": projects["funding"].pk}),
        ("committees:index", {}), ("committees:create", {}),
        ("committees:detail", {"pk": session.pk}), ("committees:agenda", {"pk": session.pk}),
        ("committees:console", {"pk": session.pk}), ("committees:member", {"pk": session.pk}),
        ("funding:index", {}), ("funding:project", {"pk": projects["funding"].pk}),
        ("training:index", {}), ("training:create", {}), ("training:progress", {}),
        ("notifications:index", {}), ("notifications:preferences", {}),
        ("projects:create", {}), ("projects:create", {"query": "?q=Amrani"}),
        ("projects:edit", {"pk": projects["draft"].pk}), ("projects:upload", {"pk": projects["draft"].pk}),
        ("projects:detail", {"pk": projects["draft"].pk}),
        ("projects:detail", {"pk": launched}),
        ("committees:attendance", {"pk": session.pk}), ("committees:confirmations", {"pk": session.pk}),
        ("followup:index", {}), ("followup:at_risk", {}), ("followup:project", {"pk": launched}),
        ("followup:plan", {"pk": launched}), ("followup:mentor", {"pk": launched}),
        ("followup:close", {"pk": launched}),
        ("dashboards:index", {}),
        ("password_change", {}),
        # Each application's sidebar, as the role sees it, and viewflow's process pages.
        ("inbox:index", {}), ("programs:index", {}), ("people:index", {}), ("security:index", {}),
        ("grant:task_list", {}), ("grant:chart", {}),
    ]
    process = _grant_process(projects["approved"])
    if process is not None:
        named += [("grant:process_detail", {"process_pk": process.pk}),
                  ("grant:process_chart", {"process_pk": process.pk})]
    try:
        visit = apps.get_model("workflow", "FollowUpVisit").objects.order_by("pk").first()
    except LookupError:
        visit = None
    if visit is not None:
        named += [("followup:visit", {"pk": visit.pk}), ("followup:report", {"pk": visit.pk})]
    urls = []
    for name, kwargs in named:
        kwargs = dict(kwargs)
        query = kwargs.pop("query", "")
        try:
            urls.append(reverse(name, kwargs=kwargs) + query)
        except NoReverseMatch:
            continue
    return urls


def _grant_process(project):
    from workflow.flows import GrantFlow

    return GrantFlow.process_class.objects.filter(artifact_object_id=project.pk).order_by("pk").first()


def process_task_pages(world) -> list[str]:
    """The detail pages of a grant process's tasks: its start, a step, a switch."""
    process = _grant_process(world["projects"]["approved"])
    if process is None:
        return []
    urls = []
    for task in process.task_set.order_by("pk")[:3]:
        try:
            urls.append(task.flow_task.reverse("detail", args=[process.pk, task.pk]))
        except NoReverseMatch:
            continue
    return urls


def task_pages(client) -> list[str]:
    """The task forms linked from the inbox page just fetched (the role's current work)."""
    response = client.get(reverse("grant:inbox"))
    links = re.findall(r'href="(/grant/\d+/[a-z_]+/\d+/)"', response.content.decode())
    return sorted(set(links))[:3]


def walk(client, urls, language, catalog, data):
    seen, problems, names = 0, {}, people_names()
    for url in urls:
        response = client.get(url, follow=True)  # a task's page may redirect to its assign page
        # A 403 page is read too; a page that fails is other tests' business.
        if response.status_code not in (200, 403) or "html" not in response.get("Content-Type", ""):
            continue
        seen += 1
        html = response.content.decode()
        found = problems_on(html, language, catalog, data, names)
        direction = "rtl" if language == "ar" else "ltr"
        if f'<html lang="{language}" dir="{direction}">' not in html:
            found.append(f"no <html lang={language} dir={direction}>")
        switches = html.count(SWITCH)
        if response.status_code == 200 and switches != 1:
            found.append(f"the language switch appears {switches} times")
        if found:
            problems[url] = found
    return seen, problems


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_page_shows_an_untranslated_string(world, language):
    catalog = Catalog(language)
    data = data_strings()
    problems, walked = {}, {}
    anonymous = Client(raise_request_exception=False)
    anonymous.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    walked["anonymous"], found = walk(anonymous, [reverse("login"), reverse("password_reset")],
                                      language, catalog, data)
    problems.update({f"anonymous {url}": p for url, p in found.items()})
    for role, user in world["people"].items():
        client = Client(raise_request_exception=False)
        client.force_login(user)
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        urls = pages(world) + process_task_pages(world) + task_pages(client)
        walked[role], found = walk(client, urls, language, catalog, data)
        problems.update({f"{role} {url}": p for url, p in found.items()})
    assert walked["anonymous"] == 2
    assert all(count >= 2 for count in walked.values()), walked
    assert sum(walked.values()) >= 60, walked
    assert not problems, "untranslated strings:\n" + "\n".join(
        f"  {where}: {'; '.join(found)}" for where, found in sorted(problems.items())
    )


def test_every_page_says_its_language_and_direction(world):
    client = Client()
    client.force_login(world["people"]["program_officer"])
    for language, direction in (("ar", "rtl"), ("fr", "ltr"), ("en", "ltr")):
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        for url in pages(world)[:6] + [reverse("projects:detail", kwargs={"pk": world["projects"]["approved"].pk})]:
            response = client.get(url)
            if response.status_code != 200:
                continue
            html = response.content.decode()
            assert f'<html lang="{language}" dir="{direction}">' in html, url
            assert html.count('class="tamkeen-language"') == 1, url  # the switch, once


# --- The walker catches what it should -----------------------------------------------------

@pytest.fixture
def officer_inbox(world):
    client = Client()
    client.force_login(world["people"]["program_officer"])
    return client


def _without_translation(monkeypatch, language, msgid):
    """Make the running catalog of ``language`` forget ``msgid``, as a template string
    added after the last translation run would be."""
    translated = trans_real.translation(language)

    class Forgetting:
        def __init__(self, catalog):
            self._catalog = catalog

        def get(self, key, default=None):
            return default if key == msgid else self._catalog.get(key, default)

        def __getattr__(self, name):
            return getattr(self._catalog, name)

    monkeypatch.setattr(translated, "_catalog", Forgetting(translated._catalog))


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_untranslated_template_string_is_caught(world, officer_inbox, monkeypatch, language):
    catalog, data = Catalog(language), data_strings()
    url = reverse("projects:index")
    officer_inbox.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    assert problems_on(officer_inbox.get(url).content.decode(), language, catalog, data) == []

    _without_translation(monkeypatch, language, "Log out")
    _without_translation(monkeypatch, "fr", "Log out")  # nor the French fallback
    found = problems_on(officer_inbox.get(url).content.decode(), language, catalog, data)
    assert "English msgid 'Log out'" in found


def test_arabic_falling_back_to_french_is_caught(world, officer_inbox, monkeypatch):
    catalog, data = Catalog("ar"), data_strings()
    officer_inbox.cookies[settings.LANGUAGE_COOKIE_NAME] = "ar"
    _without_translation(monkeypatch, "ar", "Log out")
    # In production the site's default language is French, and Django falls back to it.
    monkeypatch.setattr(trans_real.translation("ar"), "_fallback", trans_real.translation("fr"))
    html = officer_inbox.get(reverse("projects:index")).content.decode()
    with translation.override("fr"):
        assert translation.gettext("Log out") in html
    assert "French (fallback) text 'Déconnexion' of msgid 'Log out / Logout'" in problems_on(html, "ar", catalog, data)


def test_a_catalog_entry_left_empty_is_caught():
    catalog = Catalog("fr", extra={"Freshly added label": ""})
    html = '<html lang="fr"><body><p>Freshly added label</p><p title="Freshly added label">x</p></body></html>'
    assert catalog.untranslated("Freshly added label") == "English msgid 'Freshly added label'"
    assert problems_on(html, "fr", catalog, set()) == ["English msgid 'Freshly added label'"]


def test_english_outside_the_catalogs_is_caught_but_not_data_names_or_numbers():
    catalog = Catalog("ar")
    html = (
        '<html lang="ar"><body><span>1-20 of 45</span><span>Open the side panel for this page</span>'
        '<span>AGR-2025-00012</span><span>57.000,00 د.م.</span><span>Fatima Amrani</span>'
        '<span>The activity already exists at this address.</span><span>OK</span>'
        '<select><option lang="en">English</option></select><script>var x = "Log out";</script></body></html>'
    )
    found = problems_on(html, "ar", catalog, {"The activity already exists at this address.", "Fatima Amrani"})
    assert found == [
        "English msgid '%(start)s-%(end)s of %(count)s'",
        "English text outside the catalogs 'Open the side panel for this page'",
    ]


def test_a_sentence_is_not_data_because_it_contains_a_stored_word():
    """A process description mentioning a committee "agenda" (a stored step name) is
    still English; a name, or a date with a username, is still data."""
    catalog = Catalog("fr")
    html = (
        '<html lang="fr"><body><h6>The officer puts it on a committee agenda and the committee decides.</h6>'
        '<span>Fatima Amrani5</span><span>05/12/2026 02:01 (agent)</span></body></html>'
    )
    found = problems_on(html, "fr", catalog, {"agenda", "Fatima", "Amrani5", "agent"})
    assert found == [
        "English text outside the catalogs 'The officer puts it on a committee agenda and the committee decides.'"
    ]
    arabic = '<html lang="ar"><body><span>AGR-2025-00004 — Atelier de couture</span><span>Process summary</span></body></html>'
    found = problems_on(arabic, "ar", Catalog("ar"), {"Atelier de couture", "process"})
    assert found == ["Latin text on an Arabic page 'Process summary'"]


def test_the_catalogs_hold_viewflow_page_strings():
    """viewflow ships no Arabic: its page strings are in our catalogs (manage.py i18n_sync)."""
    for language in LANGUAGES:
        expected = Catalog(language).expected
        for msgid in ("Inbox", "Queue", "Archive", "Log out", "Profile", "Log in"):
            assert msgid in expected and all(expected[msgid]) and msgid not in expected[msgid], (language, msgid)
    assert Path(settings.BASE_DIR, "core", "viewflow_messages.py").is_file()
