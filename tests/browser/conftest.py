"""Browser journeys: Playwright (the PyPI wheel's driver) driving Debian's Chromium.

One browser for all the journeys, one context (cookies, language) per user and test.
Without Chromium or Playwright the journeys skip, or fail when
``TAMKEEN_REQUIRE_BROWSER=1`` (CI). Screenshots go to ``var/screenshots/``.

The pages run under the real Content-Security-Policy: every violation a page meets (the
console's "Content Security Policy" errors and the ``securitypolicyviolation`` events)
is collected, and a journey that met any fails at its end, listing them.
"""

import contextlib
import os
import re
import shutil
from pathlib import Path

import pytest
from django.conf import settings

PASSWORD = "pass-Tamkeen-2025"
CHROMIUM = os.environ.get("TAMKEEN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
# Each wait for a page is bounded: a broken journey fails instead of hanging.
TIMEOUT_MS = 30_000
# Run in every page before its own scripts: a violation's event also becomes a console
# error, with what the console message alone does not always say (the blocked URL, where).
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`securitypolicyviolation: ${event.disposition} ${event.effectiveDirective} blocked `
    + `${event.blockedURI || "inline"} at ${event.sourceFile}:${event.lineNumber} on ${event.documentURI}`);
});
"""


def is_csp_violation(message_text: str) -> bool:
    return "Content Security Policy" in message_text or "securitypolicyviolation" in message_text


def _unavailable(reason):
    if os.environ.get("TAMKEEN_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} and TAMKEEN_REQUIRE_BROWSER=1 is set")
    pytest.skip(reason)


@pytest.fixture(scope="package")
def _orm_beside_playwright():
    """Playwright's sync API keeps an asyncio event loop on the test's thread, which
    Django's ORM takes for an async context. The journeys' ORM calls (and the database
    flushes between them) are plain synchronous code: allow them while this package's
    tests run, and only then."""
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="package")
def _chromium(django_db_setup, _orm_beside_playwright):
    """The one browser of the journeys, stopped once they have all run."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("needs Playwright (pip install -r requirements-dev.txt)")
    if not (os.path.isfile(CHROMIUM) or shutil.which(CHROMIUM)):
        _unavailable(f"needs Chromium at {CHROMIUM} (apt-get install chromium)")
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    except Exception as error:
        playwright.stop()
        _unavailable(f"Chromium at {CHROMIUM} does not start: {error}")
    yield browser
    browser.close()
    playwright.stop()


@pytest.fixture(autouse=True)
def _browser_test_settings(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


@pytest.fixture
def site(_chromium, reference_data, live_server, request):  # noqa: F811
    """``site.login(user)`` → a logged-in page of a fresh browser context. Fails at the
    end of the test when a page met a Content-Security-Policy violation."""
    contexts = []
    csp_violations = []

    class Site:
        url = live_server.url
        journey = re.sub(r"^test_", "", request.node.name).replace("_", "-")

        def page(self, language="en"):
            context = _chromium.new_context(
                base_url=live_server.url, locale=language, viewport={"width": 1280, "height": 900},
                extra_http_headers={"Accept-Language": language},
            )
            context.set_default_timeout(TIMEOUT_MS)
            context.add_init_script(REPORT_CSP_VIOLATIONS)
            context.on("console", self._note_csp_violation)
            contexts.append(context)
            return context.new_page()

        @staticmethod
        def _note_csp_violation(message):
            if is_csp_violation(message.text):
                csp_violations.append(f"{message.page.url if message.page else '?'}: {message.text}")

        def login(self, user, language="en", password=PASSWORD):
            page = self.page(language)
            page.goto("/accounts/login/")
            page.locator("input[name=username]").fill(user.username)
            page.locator("input[name=password]").fill(password)
            with page.expect_navigation():
                page.locator("form.vf-form button[type=submit]").click()
            assert "/accounts/login/" not in page.url, f"{user.username} could not log in"
            return page

        def shot(self, page, step):
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / f"{self.journey}-{step}.png"), full_page=True)

    yield Site()
    report = getattr(request.node, "_browser_call_report", None)
    if report is not None and report.failed:
        # The pages as they were when the journey failed: CI keeps them with the others.
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for n, page in enumerate(p for context in contexts for p in context.pages):
            # A page that cannot be captured must not hide the failure itself.
            with contextlib.suppress(Exception):
                page.screenshot(path=str(SCREENSHOTS / f"{Site.journey}-failure-{n}.png"), full_page=True)
    for context in contexts:
        context.close()  # also delivers the console messages still on their way
    if report is not None and report.passed:
        assert not csp_violations, "Content-Security-Policy violations:\n" + "\n".join(dict.fromkeys(csp_violations))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item._browser_call_report = report
