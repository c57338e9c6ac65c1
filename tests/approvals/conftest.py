"""Fixtures of the committee tests: a four-member board of the program, an eligible file."""

import pytest

from tests._committee_support import make_board


@pytest.fixture
def board(cast, program, make_user):
    return make_board(cast, program, make_user, n_members=4)


@pytest.fixture
def project(make_project):
    return make_project("eligible")
