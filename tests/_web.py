"""Helpers of the tests that drive pages through Django's test client."""

from axes.backends import AxesStandaloneBackend


class ThrottleOrTestClientLogin(AxesStandaloneBackend):
    """The sign-in throttle of the suite (tests/conftest.py puts it in the place of
    ``AxesStandaloneBackend``): every sign-in through a page is throttled as in
    production; only the test client's ``login()``, which authenticates without a
    request, goes past it (production refuses that, so no code path escapes the throttle
    by leaving the request out)."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def as_user(client, user):
    """``client`` signed in as ``user``."""
    client.force_login(user)
    return client


def html_of(response) -> str:
    """The page's HTML, once it is known to have answered 200."""
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def without_waiting_panel(html: str) -> str:
    """The page without its "waiting for me" panel (the inbox's tasks for this part of
    the product), to check the page's own lists."""
    import re

    return re.sub(r'<div class="mdc-card vf-card tamkeen-waiting">.*?</section>\s*</div>', "", html, count=1,
                  flags=re.S)


def unisolated(html: str) -> str:
    """The page without its direction-isolation elements (``<bdi>``, core.bidi), to read
    the words around numbers as a reader does."""
    import re

    return re.sub(r"</?bdi[^>]*>|[\u2066-\u2069]", "", html)
