"""Shared fixtures. States are reached through services (demo.scenarios), never by
writing ``state=``; tests run on SQLite locally and on PostgreSQL in CI."""

import os
import tempfile
from collections import Counter
from datetime import date
from decimal import Decimal
from itertools import count

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.utils import translation

from core.roles import Role
from demo.scenarios import Cast, drive
from ledger import memory
from ledger.keys import KEYRING
from workflow import services
from workflow.models import ActivitySector, Commune, Program

_ran_on = Counter()
_ran_in = Counter()
_serial = count(1)


def pytest_configure(config):
    from django.conf import settings

    # Development signing keys made by the test databases stay out of var/keys.
    settings.TAMKEEN_KEY_DIR = tempfile.mkdtemp(prefix="tamkeen-test-keys-")
    settings.MEDIA_ROOT = tempfile.mkdtemp(prefix="tamkeen-test-media-")
    # The suite runs with the production settings (DEBUG off unless the environment says
    # otherwise, as CI sets only DATABASE_URL and CELERY_BROKER_URL) except for what a
    # test run needs: development signing keys, generated in the directory above; plain
    # HTTP for the test client and the live server; static files found in the source
    # folders, since no collectstatic runs before the tests.
    settings.TAMKEEN_DEV_KEYS = True
    settings.SECURE_SSL_REDIRECT = False
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.STATIC_ROOT = tempfile.mkdtemp(prefix="tamkeen-test-static-")
    # Sign-ins through a page are throttled as in production; the test client's login(),
    # which has no request to count by, is let past the throttle (tests/_web.py).
    settings.AUTHENTICATION_BACKENDS = [
        "tests._web.ThrottleOrTestClientLogin" if path == "axes.backends.AxesStandaloneBackend" else path
        for path in settings.AUTHENTICATION_BACKENDS
    ]
    # A fast hasher: tests create hundreds of users (step-up checks still run for real).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Pages render in English unless a test asks for Arabic or French explicitly.
    settings.LANGUAGE_CODE = "en"
    # The sign-in gate of the second factor is off for the suite, whose tests sign in
    # with force_login or the password form (tests/twofactor and the passkey journeys turn
    # it on); the step-up still asks for the second factor of whoever has a device.
    settings.TAMKEEN_REQUIRE_SECOND_FACTOR = False
    config.addinivalue_line(
        "markers", "real_minutes: sessions held by demo.scenarios render their real minutes PDF"
    )
    _let_test_flushes_empty_the_ledger()


def _let_test_flushes_empty_the_ledger():
    """The ledger's PostgreSQL triggers refuse TRUNCATE, which is how transactional tests
    reset the database. Only the test flush disables triggers, for its own transaction
    (SET LOCAL needs a superuser, as a real bypass would)."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    original = DatabaseOperations.execute_sql_flush
    if getattr(original, "_tamkeen", False):
        return

    def execute_sql_flush(self, sql_list):
        return original(self, ["SET LOCAL session_replication_role = replica", *sql_list])

    execute_sql_flush._tamkeen = True
    DatabaseOperations.execute_sql_flush = execute_sql_flush


def pytest_collection_modifyitems(config, items):
    require = os.environ.get("TAMKEEN_REQUIRE_POSTGRES") == "1"
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(pytest.mark.django_db(transaction=True))
            item.user_properties.append(("needs_postgres", require))


@pytest.fixture(autouse=True)
def _postgres_gate(request):
    # Signing keys can vanish with a flushed database: never sign with a cached one; and
    # the integrator's memory of its last checkpoint belongs to the database it signed.
    KEYRING.clear()
    memory.forget()
    if "postgres" in request.keywords:
        if connection.vendor != "postgresql":
            if os.environ.get("TAMKEEN_REQUIRE_POSTGRES") == "1":
                pytest.fail("this test needs PostgreSQL and TAMKEEN_REQUIRE_POSTGRES=1 is set")
            pytest.skip("needs PostgreSQL (set DATABASE_URL=postgres://...)")
        request.getfixturevalue("transactional_db")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.passed:
        from django.test import TransactionTestCase

        uses_db = (
            any(m.name == "django_db" for m in item.iter_markers())
            or "db" in item.fixturenames
            or "transactional_db" in item.fixturenames
            or (item.cls is not None and issubclass(item.cls, TransactionTestCase))
        )
        # Counted where the report is logged (the main process under pytest-xdist).
        report.user_properties.append(("tamkeen_ran_on", connection.vendor if uses_db else "no database"))
        if "live_worker" in item.keywords:
            from django.conf import settings

            report.user_properties.append(
                ("tamkeen_ran_on", "a live worker on " + settings.CELERY_BROKER_URL.split("://")[0]))
        if item.get_closest_marker("browser"):
            report.user_properties.append(("tamkeen_ran_in", "a browser"))


def pytest_runtest_logreport(report):
    for name, value in report.user_properties:
        if name == "tamkeen_ran_on":
            _ran_on[value] += 1
        elif name == "tamkeen_ran_in":
            _ran_in[value] += 1


def pytest_terminal_summary(terminalreporter):
    if _ran_on:
        parts = ", ".join(f"{n} on {vendor}" for vendor, n in sorted(_ran_on.items()))
        parts += "".join(f", {n} in {where}" for where, n in sorted(_ran_in.items()))
        terminalreporter.write_line(f"Tamkeen: passed tests by database: {parts}")


@pytest.fixture(autouse=True)
def _scenario_minutes_stub(request, monkeypatch):
    """Every project driven past the committee (demo.scenarios.drive) closes a session,
    and rendering its minutes PDF costs about half a second. The sessions the scenarios
    hold (recognised by their title) close with a small stand-in PDF instead, unless the
    test is marked ``real_minutes``; every other session, and the product, renders the
    real minutes."""
    if "real_minutes" in request.keywords:
        return
    from approvals.services import sessions
    from demo.scenarios import SCENARIO_SESSION_TITLE

    real = sessions.render_minutes

    def render_minutes(facts):
        if facts["session"]["title"] != SCENARIO_SESSION_TITLE:
            return real(facts)
        return f"%PDF-1.4\n% stand-in minutes of session {facts['session']['id']}\n%%EOF\n".encode()

    monkeypatch.setattr(sessions, "render_minutes", render_minutes)


@pytest.fixture(scope="session")
def live_broker(tmp_path_factory):
    """The broker the live workers of this test session use: Redis in CI
    (``TAMKEEN_REQUIRE_BROKER=1`` demands it), else the embedded filesystem broker in a
    folder of this session's own, so another test run on the machine never consumes its
    messages. One folder per session: the app's producer pool keeps its first transport."""
    from django.conf import settings

    from config.celery import app

    if os.environ.get("TAMKEEN_REQUIRE_BROKER") == "1":
        assert settings.CELERY_BROKER_URL.startswith("redis://"), settings.CELERY_BROKER_URL
    # Under pytest-xdist each test process has its own database: its tasks go to a queue
    # of its own, so another process's live worker never runs them against its database.
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        app.conf.task_default_queue = f"tamkeen-tests-{worker}"
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        root = tmp_path_factory.mktemp("broker")
        folders = {name: root / name for name in ("out", "processed", "control")}
        for folder in folders.values():
            folder.mkdir()
        app.conf.broker_transport_options = {
            "data_folder_in": str(folders["out"]), "data_folder_out": str(folders["out"]),
            "processed_folder": str(folders["processed"]), "control_folder": str(folders["control"]),
        }
    return app


@pytest.fixture
def live_worker(live_broker):
    """A real Celery worker, in this process (solo pool, its own thread), consuming the
    session's broker. Not eager mode."""
    from celery.contrib.testing.worker import start_worker

    app = live_broker
    # Results come back through an in-process backend: the worker runs in this process.
    previous = app.conf.result_backend, app.conf.task_ignore_result
    app.conf.result_backend, app.conf.task_ignore_result = "cache+memory://", False
    _forget_result_backend(app)  # one made earlier (by an eager call) knows no results
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10) as worker:
            yield worker
    finally:
        app.conf.result_backend, app.conf.task_ignore_result = previous
        _forget_result_backend(app)


def _forget_result_backend(app):
    app._backend_cache = None
    app._local.__dict__.pop("backend", None)


@pytest.fixture
def make_user(db):
    def make(*roles, username=None, password="pass-Tamkeen-2025"):
        user = User.objects.create_user(
            username=username or f"user{next(_serial)}", password=password, email="u@example.org"
        )
        user.groups.set([Group.objects.get(name=Role(r).value) for r in roles])
        return User.objects.get(pk=user.pk)  # fresh: no stale permission cache

    return make


@pytest.fixture
def cast(make_user):
    return Cast(
        agent=make_user(Role.ASSOCIATION_AGENT, username="agent"),
        officer=make_user(Role.PROGRAM_OFFICER, username="officer"),
        chair=make_user(Role.COMMITTEE_CHAIR, Role.COMMITTEE_MEMBER, username="chair"),
        finance=make_user(Role.FINANCE_OFFICER, username="finance"),
        mentor=make_user(Role.MENTOR, username="mentor"),
    )


@pytest.fixture
def program(db):
    return Program.objects.create(
        code=f"nador-{next(_serial)}", name="AGR Nador", year=2025,
        envelope=Decimal("1000000.00"), project_ceiling=Decimal("100000.00"),
    )


@pytest.fixture
def make_beneficiary(cast):
    def make(**overrides):
        n = next(_serial)
        fields = {
            "first_name": "Fatima", "last_name": f"Amrani{n}", "first_name_ar": "فاطمة", "last_name_ar": "العمراني",
            "cin": f"S{100000 + n}", "phone": "0612345678", "gender": "F", "birth_date": date(1990, 5, 1),
            "commune": Commune.objects.get(code="nador"), "is_woman_in_difficulty": True,
            "consent_given": True, "consent_date": date(2025, 1, 10),
        }
        fields.update(overrides)
        return services.beneficiary_create(actor=cast.agent, **fields)

    return make


@pytest.fixture
def make_project(cast, program, make_beneficiary):
    """make_project(state="approved", amount=..., program=..., **fields) through services."""

    def make(state="draft", *, amount=None, program=program, beneficiary=None, **fields):
        values = {
            "title": "Atelier de couture", "description": "Deux machines à coudre et une surjeteuse.",
            "requested_amount": "60000.00", "own_contribution": "30000.00",
            "sector": ActivitySector.objects.get(code="sewing"),
        }
        values.update(fields)
        project = services.project_create(
            actor=cast.agent, program=program, beneficiary=beneficiary or make_beneficiary(), **values
        )
        return drive(project, state, cast, amount=amount)

    return make


@pytest.fixture
def slow_audit(monkeypatch):
    """In the racing threads only, hold each transaction (and its row locks) open a moment
    after its audit entry is written (with the entity's row by ``ledger.writes``, or alone
    by ``AuditEntry.save``), so the other racers really wait on the locks."""
    import threading
    import time

    from ledger import writes
    from ledger.models import AuditEntry

    def held(write):
        def slowly(*args, **kwargs):
            result = write(*args, **kwargs)
            if threading.current_thread().name.startswith("racer-"):
                time.sleep(0.3)
            return result

        return slowly

    monkeypatch.setattr(writes, "write_transition", held(writes.write_transition))
    monkeypatch.setattr(AuditEntry, "save", held(AuditEntry.save))


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """``with committed(): ...`` runs the block's on_commit callbacks (the flow's
    follow-up of a service) as a real commit would."""
    def block():
        return django_capture_on_commit_callbacks(execute=True)

    return block


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache (step-up failure counts are kept there)."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    """Each test's uploads (documents, photos, minutes) go to its own throwaway folder."""
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def client():
    """The test client, asking for English pages: messages are asserted in English."""
    from django.test import Client

    return Client(HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the default language. A request through the test client
    leaves its language active in the thread (LocaleMiddleware activates it and nothing
    deactivates it), and a service called next would otherwise speak it."""
    from django.conf import settings

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


@pytest.fixture
def reference_data(transactional_db):
    """Put back what data migrations create and the flush ending every transactional test
    removes: communes and activity sectors, training modules, the role groups.
    ``serialized_rollback`` cannot do it: it reloads rows with UPDATEs, which the ledger's
    triggers refuse on signing keys. The signing keys come back by themselves (the flush's
    post_migrate makes development keys)."""
    import importlib

    from django.apps import apps
    from django.contrib.contenttypes.models import ContentType

    from core.roles import sync_roles
    from training.models import TrainingModule

    # Flushes recreate content types under new ids; the per-process cache would still
    # hand out the old ones.
    ContentType.objects.clear_cache()
    importlib.import_module("workflow.migrations.0002_reference_data").load(apps, None)
    # The training modules' data migration ran when they were the workflow app's models.
    for code, fr, ar, en, description in importlib.import_module("workflow.migrations.0008_training_data").MODULES:
        TrainingModule.objects.get_or_create(
            code=code, defaults={"name_fr": fr, "name_ar": ar, "name_en": en, "description": description})
    sync_roles(apps)


# --- Funding: the three money roles, and orders brought to a state -----------------------


@pytest.fixture
def people(make_user, cast):
    return {
        "finance": cast.finance,
        "authorizer": make_user(Role.AUTHORIZING_OFFICER, username="ordonnateur"),
        "treasurer": make_user(Role.TREASURER, username="comptable"),
    }


ORDER_STATES = ("draft", "chosen", "issued", "delivered", "received")


@pytest.fixture
def make_order(cast):
    """make_order(project, state="draft", quotes=3, amounts=...) through the services:
    ``chosen`` is a draft whose cheapest quote is chosen (with a justification below three
    quotes); ``received`` has its receipt report signed by the mentor and the witnessed
    beneficiary."""
    from disbursements import services as funding
    from disbursements.models import PurchaseOrder

    made = count(1)

    def make(project, state="draft", *, quotes=3, amounts=("30000.00", "31000.00", "32000.00")):
        finance = cast.finance
        order = funding.purchase_order_create(project_id=project.pk, actor=finance, description="Machines")
        for amount in amounts[:quotes]:
            supplier = funding.supplier_create(actor=finance, name=f"Fournisseur {order.pk}-{next(made)}")
            funding.quote_add(order_id=order.pk, actor=finance, supplier_id=supplier.pk, amount=amount)
        step = ORDER_STATES.index(state)
        if step >= 1:
            cheapest = order.quotes.order_by("amount").first()
            funding.purchase_order_choose_quote(
                order_id=order.pk, actor=finance, quote_id=cheapest.pk, reason="Moins-disant.",
                justification="" if quotes >= 3 else "Fournisseur unique dans la province.")
        if step >= 2:
            funding.purchase_order_issue(order_id=order.pk, actor=finance)
        if step >= 3:
            funding.purchase_order_deliver(order_id=order.pk, actor=cast.officer)
        if step >= 4:
            funding.receipt_confirm_mentor(order_id=order.pk, actor=cast.mentor)
            funding.receipt_witness_beneficiary(order_id=order.pk, actor=cast.agent)
            funding.purchase_order_receive(order_id=order.pk, actor=cast.officer)
        return PurchaseOrder.objects.get(pk=order.pk)

    return make
