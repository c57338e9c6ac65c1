"""The root of trust and certified rotations, as an operator runs them: the root made
offline, a key prepared on the server, certified where the root is kept, activated on
the server — and refused when its certificate is not the pinned root's, or when it
would take over before every process can see it."""

import io
import json
import os
import stat

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ledger.models import KeyCertificate, SigningKey
from ledger.tamkeen_verify import key_id_for

pytestmark = pytest.mark.django_db


def run(*args):
    out = io.StringIO()
    call_command("audit", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def root_key(tmp_path, name):
    said = run("init-root", "--out", str(tmp_path / name))
    public = said.split("public key: ")[1].split()[0]
    assert key_id_for(public) in said and f"TAMKEEN_LEDGER_ROOT_PUBLIC_KEY={public}" in said
    return tmp_path / name, public


def test_a_key_is_prepared_certified_offline_and_activated(tmp_path, settings, monkeypatch):
    root, public = root_key(tmp_path, "root.pem")
    assert stat.S_IMODE(os.stat(root).st_mode) == 0o600
    with pytest.raises(CommandError, match="never overwritten"):
        run("init-root", "--out", str(root))
    settings.TAMKEEN_LEDGER_ROOT_PUBLIC_KEY = public
    monkeypatch.chdir(tmp_path)

    said = run("rotate-key", "--purpose", "checkpoint", "--effective-in", "300")
    statement_file = next(tmp_path.glob("*.statement.json"))
    statement = json.loads(statement_file.read_text())
    assert statement["purpose"] == "checkpoint" and statement["key_id"] in said
    assert not SigningKey.objects.filter(key_id=statement["key_id"]).exists()  # prepared, not active

    run("certify-key", str(statement_file), "--root-key", str(root), "--out", str(tmp_path / "cert.json"))
    said = run("activate-key", str(tmp_path / "cert.json"))
    assert statement["key_id"] in said
    row = SigningKey.objects.get(key_id=statement["key_id"])
    assert KeyCertificate.objects.get(key_id=row.key_id).certificate["root_key_id"] == key_id_for(public)
    listed = run("keys")
    line = next(text for text in listed.splitlines() if statement["key_id"] in text)
    assert statement["public_key"] in line and line.endswith("certified")
    as_json = json.loads(run("keys", "--json"))
    assert as_json["root"] == {"id": key_id_for(public), "public_key": public}


def test_a_certificate_from_another_root_is_refused(tmp_path, settings, monkeypatch):
    _root, public = root_key(tmp_path, "root.pem")
    other, _other_public = root_key(tmp_path, "other.pem")
    settings.TAMKEEN_LEDGER_ROOT_PUBLIC_KEY = public
    monkeypatch.chdir(tmp_path)
    run("rotate-key", "--purpose", "entry", "--effective-in", "300", "--statement-out", "entry.json")
    run("certify-key", "entry.json", "--root-key", str(other), "--out", "cert.json")
    before = SigningKey.objects.count()
    with pytest.raises(CommandError, match="not by the pinned root"):
        run("activate-key", "cert.json")
    assert SigningKey.objects.count() == before


def test_a_certified_key_taking_over_too_soon_is_refused(tmp_path, settings, monkeypatch):
    root, public = root_key(tmp_path, "root.pem")
    settings.TAMKEEN_LEDGER_ROOT_PUBLIC_KEY = public
    monkeypatch.chdir(tmp_path)
    run("rotate-key", "--purpose", "entry", "--effective-in", "30", "--statement-out", "entry.json")
    run("certify-key", "entry.json", "--root-key", str(root), "--out", "cert.json")
    before = SigningKey.objects.count()
    with pytest.raises(CommandError, match="at least 60 s from now"):
        run("activate-key", "cert.json")
    assert SigningKey.objects.count() == before


def test_a_rotation_with_the_defaults_is_accepted():
    """The default start (120 s ahead) leaves the minute every process needs, even after
    the time the command itself takes."""
    before = SigningKey.objects.filter(purpose="entry").count()
    said = run("rotate-key", "--purpose", "entry")
    assert "certified and active from" in said
    assert SigningKey.objects.filter(purpose="entry").count() == before + 1
