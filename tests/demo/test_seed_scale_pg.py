"""manage.py seed_scale on PostgreSQL: COPY, the integrator's transaction horizon and
entries signed by two forked processes; the same checks as on SQLite."""

import pytest

from ledger.evidence import verify_database
from tests.demo.test_seed_scale import ARGS, check_scale_data_set, seed

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("reference_data")]


def test_seed_scale_on_postgresql_with_two_signing_processes():
    output = seed(*ARGS, "--workers", "2")
    check_scale_data_set(output)
    assert verify_database(full=True).ok
