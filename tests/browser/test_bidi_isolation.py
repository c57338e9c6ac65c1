"""In Arabic, every number, amount, date and reference a role's main page shows sits in a
direction-isolated element (core/bidi.py): a ``<bdi>``, or an element with ``dir="ltr"``.

Each role signs in in Arabic and lands on its main page (the finance officer, the
treasurer and the program officer also open the page of their daily work); the page's
visible text nodes that contain a digit are walked in the browser. Screenshots:
``var/screenshots/bidi-isolation-<role>.png``.
"""

import pytest

from core.roles import Role
from disbursements import services as funding
from tests.browser.conftest import PASSWORD

pytestmark = pytest.mark.browser

# Visible text nodes with a digit outside an isolated element (a ``<bdi>`` or ``dir="ltr"``
# ancestor) or outside Unicode isolates (LRI/FSI … PDI, the plain-text form of the same
# helper, e.g. in a task's title). A lone integer between words ("0 مهمة", "منذ 5 دقائق") is
# a single left-to-right run the bidi algorithm never splits: the plural catalog entries
# that count things print it bare. Form controls keep their own direction; scripts are not text.
UNISOLATED_DIGITS = r"""
() => {
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (!/\d/.test(node.nodeValue)) continue;
    const element = node.parentElement;
    if (!element || element.closest("script, style, noscript, template, option, textarea")) continue;
    if (!element.checkVisibility({visibilityProperty: true, opacityProperty: true})) continue;
    if (element.closest("bdi, [dir=ltr]")) continue;
    const outside = node.nodeValue.replace(/[\u2066\u2068][^\u2069]*\u2069/g, " ");
    const tokens = outside.split(/[\s\u00a0]+/).filter((token) => /\d/.test(token));
    if (tokens.every((token) => /^\(?\d+\)?$/.test(token))) continue;
    found.push(`${element.tagName.toLowerCase()}: ${node.nodeValue.trim()}`);
  }
  return found;
}
"""


def unisolated(site, page, name) -> list[str]:
    assert page.locator("html").get_attribute("dir") == "rtl", f"{name}: not an Arabic page"
    site.shot(page, name)
    return [f"{name} ({page.url.split('/', 3)[-1]}) {text}" for text in page.evaluate(UNISOLATED_DIGITS)]


def test_bidi_isolation(site, cast, make_project, make_user):
    approved = make_project("approved", amount="52500.00")
    paying = make_project("funding", amount="60000.00")
    make_project("submitted")
    authorizer = make_user(Role.AUTHORIZING_OFFICER, username="ordonnateur")
    treasurer = make_user(Role.TREASURER, username="comptable")
    auditor = make_user(Role.AUDITOR, username="auditrice")
    released = funding.disbursement_request(project_id=paying.pk, actor=cast.finance, amount="15000.00")
    funding.disbursement_authorize(disbursement_id=released.pk, actor=authorizer)
    funding.disbursement_release(disbursement_id=released.pk, actor=treasurer, password=PASSWORD,
                                 payment_reference="VIR-2026-12-0042", idempotency_key="bidi-1")
    funding.disbursement_request(project_id=paying.pk, actor=cast.finance, amount="2500.00")

    roles = {
        "agent": cast.agent, "officer": cast.officer, "chair": cast.chair, "finance": cast.finance,
        "authorizer": authorizer, "treasurer": treasurer, "mentor": cast.mentor, "auditor": auditor,
    }
    extra = {
        "officer": [f"/projects/{approved.pk}/"],
        "finance": ["/funding/", f"/funding/projects/{paying.pk}/"],
        "treasurer": ["/funding/"],
    }
    found = []
    for name, user in roles.items():
        page = site.login(user, language="ar")
        found += unisolated(site, page, name)
        for n, path in enumerate(extra.get(name, [])):
            page.goto(path)
            found += unisolated(site, page, f"{name}-{n + 1}")
    assert not found, "digits outside an isolated element:\n" + "\n".join(found)
