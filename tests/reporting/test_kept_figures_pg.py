"""The kept dashboard figures under real concurrent PostgreSQL connections: two refreshes
at once both succeed, and an audit entry whose transaction commits after the figures
were read — although its id is below the newest id they saw — still marks the program
changed (entry ids commit out of order)."""

import threading

import pytest
from django.db import connections

from ledger import writes
from reporting import changes, snapshot
from reporting import selectors as figures
from reporting.models import ProgramFigures
from reporting.services import program_figures_refresh
from tests._concurrency import race
from workflow import services

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("reference_data")]


def test_two_refreshes_at_once_both_succeed(cast, make_project, program):
    make_project("draft"), make_project("submitted")
    outcomes = race(lambda: program_figures_refresh(program=program), lambda: program_figures_refresh(program=program))
    assert outcomes == ["ok", "ok"]
    assert ProgramFigures.objects.filter(program=program).count() == 1
    kept = ProgramFigures.objects.get(program=program)
    assert snapshot.load(kept.figures) == figures.figure_counts(program)
    assert kept.ledger_horizon is not None


def test_an_entry_committed_after_the_read_with_a_lower_id_is_seen(cast, make_project, program, monkeypatch):
    held, late = make_project("draft"), make_project("draft")
    written, release = threading.Event(), threading.Event()
    write = writes.write_transition

    def hold_open(*args, **kwargs):
        result = write(*args, **kwargs)
        if threading.current_thread().name == "late-writer":
            written.set()
            assert release.wait(timeout=30)
        return result

    monkeypatch.setattr(writes, "write_transition", hold_open)
    failures = []

    def suspend_slowly():
        try:
            services.project_suspend(project_id=held.pk, actor=cast.officer, reason="Pièces à vérifier.")
        except Exception as error:  # reported below
            failures.append(error)
        finally:
            connections.close_all()

    writer = threading.Thread(target=suspend_slowly, name="late-writer")
    writer.start()
    try:
        assert written.wait(timeout=30)  # its entry is inserted, its transaction still open
        # A later entry commits first, then the figures are read: they see a newer id...
        services.project_suspend(project_id=late.pk, actor=cast.officer, reason="Pièces à vérifier.")
        kept = program_figures_refresh(program=program)
    finally:
        release.set()
        writer.join(timeout=30)
    assert not failures and not writer.is_alive()
    assert snapshot.load(kept.figures)["pipeline"]["suspended"] == 1  # the held one was not visible

    # ...but the held entry, committed since, is older than their horizon: changed.
    assert changes.programs_changed([kept]) == {program.pk}
    without_horizon = ProgramFigures(program_id=program.pk, ledger_id=kept.ledger_id, ledger_horizon=None)
    assert changes.programs_changed([without_horizon]) == set()  # the newest id alone would miss it
    program_figures_refresh(program=program)
    assert snapshot.load(ProgramFigures.objects.get(program=program).figures)["pipeline"]["suspended"] == 2


@pytest.mark.django_db(transaction=True)
def test_a_long_transaction_elsewhere_on_the_server_marks_no_committed_entry_changed(cast, make_project, program):
    """The horizon is the server's: a transaction left open in another database holds it
    back. Entries that had committed when the figures were read are in them all the same
    (the snapshot says so), and only what came after marks the program changed."""
    import psycopg2
    from django.db import connection

    params = connection.settings_dict
    elsewhere = psycopg2.connect(host=params["HOST"] or None, port=params["PORT"] or None, user=params["USER"],
                                 password=params["PASSWORD"] or None, dbname="postgres")
    try:
        with elsewhere.cursor() as cursor:
            cursor.execute("SELECT pg_current_xact_id()")  # an open transaction with an id
        make_project("draft")
        kept = program_figures_refresh(program=program)
        assert kept.ledger_horizon is not None and kept.ledger_snapshot

        assert changes.programs_changed([kept]) == set()
        make_project("draft")
        assert changes.programs_changed([kept]) == {program.pk}
    finally:
        elsewhere.rollback()
        elsewhere.close()
