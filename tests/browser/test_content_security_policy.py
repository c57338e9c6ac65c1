"""Every role's pages load under the Content-Security-Policy without a violation.

Each role signs in through the login page, then opens, as full page loads (each with its
own policy and nonce), every page its navigation drawer offers, the drawers of those
pages included, and a file's page where the role may read files; the administrator also
walks the Django administration. The ``site`` fixture fails the test on any violation
reported in the console. The journeys cover the pages' forms and Turbo's visits.
"""

import re
from urllib.parse import urlsplit

import pytest

from core.roles import Role

pytestmark = pytest.mark.browser

# The drawer's links: the site's applications and the current application's pages.
MENU_LINKS = "a.vf-page__menu-list-item[href]"
# Bounds the walk: a role's drawer offers far fewer pages.
MAX_PAGES_PER_ROLE = 40
NOT_PAGES = re.compile(r"\.(csv|pdf)$|/logout/")


def local_paths(page, selector) -> list[str]:
    hrefs = page.locator(selector).evaluate_all("links => links.map(link => link.href)")
    paths = []
    for href in hrefs:
        parts = urlsplit(href)
        if parts.netloc == urlsplit(page.url).netloc and not NOT_PAGES.search(parts.path):
            paths.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return paths


def walk_the_drawer(page) -> list[str]:
    """Open each page the drawer leads to, breadth first, and return their paths."""
    seen, queue = set(), [urlsplit(page.url).path]
    while queue and len(seen) < MAX_PAGES_PER_ROLE:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        response = page.goto(path)
        assert response is not None and response.status < 500, f"{path}: {response and response.status}"
        assert "script-src 'self' 'nonce-" in response.headers.get("content-security-policy", ""), path
        if response.status >= 400:
            continue  # a page the drawer offers but refuses (403) is still checked, not followed
        queue.extend(p for p in local_paths(page, MENU_LINKS) if p not in seen)
    return sorted(seen)


@pytest.mark.parametrize("role", list(Role), ids=[role.value for role in Role])
def test_every_page_of_each_role_loads_without_a_csp_violation(site, make_project, make_user, role):
    project = make_project("submitted")
    user = make_user(role)
    page = site.login(user)
    visited = walk_the_drawer(page)
    assert len(visited) > 1, f"{role}: the drawer offered no page"
    if user.has_perm("workflow.view_grantproject"):
        response = page.goto(f"/projects/{project.pk}/")
        assert response is not None and response.status == 200


def test_the_administration_loads_without_a_csp_violation(site, make_user):
    admin = make_user(Role.ADMIN)
    admin.is_staff = True
    admin.save(update_fields=["is_staff"])
    page = site.page()
    page.goto("/admin/login/")
    page.locator("input[name=username]").fill(admin.username)
    page.locator("input[name=password]").fill("pass-Tamkeen-2025")
    with page.expect_navigation():
        page.locator("input[type=submit]").click()
    assert urlsplit(page.url).path == "/admin/", page.url
    lists = local_paths(page, "#content-main a[href$='/']:not([href$='/add/'])")
    assert lists, "the administration lists no model"
    for path in lists + local_paths(page, "#content-main a.addlink")[:3]:
        response = page.goto(path)
        assert response is not None and response.status < 400, path
