"""Every public service has a door: a screen, a flow task, a management command or a
Celery task that a person (or the beat) reaches — or a documented reason to have none.

A public service is a function decorated with ``core.transactions.service_transaction``
(it carries ``is_service``). Its doors are the modules people reach: views, flows,
management commands, Celery tasks, the apps' registrations (``apps.py``) and the language
switch. ``demo/`` and the tests do not count: a service reached only by the demo's
scenarios is one a real user cannot use.
"""

import ast
import importlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ["core", "ledger", "workflow", "disbursements", "approvals", "training", "followup", "notifications",
        "reporting", "twofactor"]
DOOR_PARTS = ("views", "flows.py", "tasks.py", "apps.py", "commands", "i18n.py", "urls.py")

# Services no person calls directly, and who calls them instead.
WITHOUT_A_DOOR_OF_THEIR_OWN = {
    "beneficiary_create": "the application screen registers the beneficiary with her file (application_create)",
    "project_create": "the application screen opens the file with its beneficiary (application_create)",
    "project_schedule": "the agenda screens put a file on a session (session_add_item)",
    "project_defer": "a file taken off an agenda or left undecided by the session (session_remove_item, "
                     "session_close)",
    "project_decide": "the chair's close of a session applies its decisions (session_close)",
    "notification_email": "the beat sends each pending email (notifications_email_pending)",
}


def public_services() -> dict[str, str]:
    found = {}
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            module_name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            module = importlib.import_module(module_name)
            for name, value in vars(module).items():
                if (callable(value) and getattr(value, "is_service", False) and not name.startswith("_")
                        and value.__module__ == module_name):
                    found[name] = module_name
    return found


def names_used_by_doors() -> set[str]:
    used = set()
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            relative = str(path.relative_to(ROOT))
            if "migrations" in relative or not any(part in relative for part in DOOR_PARTS):
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Name):
                    used.add(node.id)
                elif isinstance(node, ast.Attribute):
                    used.add(node.attr)
    return used


def test_every_public_service_has_a_door_or_a_documented_reason():
    services = public_services()
    assert len(services) > 50  # the scan found them
    used = names_used_by_doors()
    without = sorted(f"{module}.{name}" for name, module in services.items()
                     if name not in used and name not in WITHOUT_A_DOOR_OF_THEIR_OWN)
    assert without == [], "services no screen, task or command calls: " + ", ".join(without)


def test_a_documented_reason_names_a_service_that_still_has_no_door():
    services = public_services()
    used = names_used_by_doors()
    for name in WITHOUT_A_DOOR_OF_THEIR_OWN:
        assert name in services, f"{name} is not a public service any more"
        assert name not in used, f"{name} has a door now: drop its reason"


def test_the_check_catches_a_service_without_a_door(monkeypatch):
    """A service only the demo reaches is reported."""
    module = importlib.import_module("workflow.services.lifecycle")
    from core.transactions import service_transaction

    @service_transaction
    def project_levitate(*, project_id, actor):
        raise NotImplementedError

    project_levitate.__module__ = module.__name__
    monkeypatch.setattr(module, "project_levitate", project_levitate, raising=False)
    services = public_services()
    assert services["project_levitate"] == "workflow.services.lifecycle"
    assert "project_levitate" not in names_used_by_doors()
