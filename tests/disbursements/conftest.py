"""Fixtures of the funding tests: the three money roles, one person each."""

import pytest

from core.roles import Role


@pytest.fixture
def people(make_user, cast):
    return {
        "finance": cast.finance,
        "authorizer": make_user(Role.AUTHORIZING_OFFICER, username="ordonnateur"),
        "treasurer": make_user(Role.TREASURER, username="comptable"),
    }
