"""manage.py audit — verify, export, prove, checkpoint and rotate keys of the audit ledger."""

import json
import time
from datetime import timedelta
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

HELP_EPILOG = """
subcommands:
  verify [--full] [--json] [--trust FILE [--update-trust]] [--since CHECKPOINT] [--workers N]
                             check every hash, chain, checkpoint, key and its certificate, time,
                             and replay the state machines against the live rows (--full: every
                             signature, on every core; --trust: against the trust file you keep;
                             --since SIZE|id:N|trust: only what is new after that checkpoint)
  export OUT                 write an evidence bundle (directory OUT) for offline verification
  prove ENTRY_ID OUT         write the inclusion proof of one entry (verify it with verify.py --proof)
  checkpoint [--force]       integrate new entries and sign a checkpoint if one is due (or now)
  trust --out FILE           write a trust file: the root key, the witnesses, the newest checkpoint
  init-root --out FILE       create the ledger's root key (offline; any machine, no database)
  rotate-key [--purpose P]   prepare a new signing key: with --root-key it is certified and
                             activated at once; otherwise its statement is written for certify-key
  certify-key --root-key FILE STATEMENT --out CERT
                             sign a key statement with the root key (offline; no database)
  certify-existing [--root-key FILE]
                             certify the keys of a ledger older than certificates (once)
  activate-key CERT          activate a certified key (refused without the pinned root's certificate)
  keys [--json]              list the keys: id, purpose, public key, window, certificate
"""


class Command(BaseCommand):
    help = "The audit ledger: verify it, export evidence, prove one entry, checkpoint, rotate keys."

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.epilog = HELP_EPILOG
        import argparse

        parser.formatter_class = argparse.RawDescriptionHelpFormatter
        return parser

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="SUBCOMMAND")
        verify = sub.add_parser("verify", help="verify the whole ledger")
        verify.add_argument("--full", action="store_true", help="also check every entry signature")
        verify.add_argument("--no-progress", action="store_true",
                            help="no progress bar (it is shown only when the error output is a terminal, "
                                 "never with --json)")
        verify.add_argument("--since", metavar="CHECKPOINT",
                            help="check only what is new after a checkpoint verified before: its size, id:N, "
                                 "or 'trust' (the checkpoint your trust file keeps)")
        verify.add_argument("--workers", type=int, metavar="N",
                            help="processes checking the signatures with --full (default: every core)")
        verify.add_argument("--json", action="store_true", dest="as_json",
                            help="print the report as JSON (each problem's code, message and location)")
        verify.add_argument("--trust", metavar="FILE", help="the trust file you keep (audit trust --out)")
        verify.add_argument("--update-trust", action="store_true",
                            help="when everything verifies, keep the newest checkpoint in the trust file")
        export = sub.add_parser("export", help="write an evidence bundle")
        export.add_argument("out", help="the bundle directory to create (must not exist)")
        export.add_argument("--no-progress", action="store_true",
                            help="no progress bar (it is shown only when the error output is a terminal)")
        prove = sub.add_parser("prove", help="write the inclusion proof of one entry")
        prove.add_argument("entry_id", type=int, help="the audit entry's id")
        prove.add_argument("out", help="the proof file to write (JSON)")
        checkpoint = sub.add_parser("checkpoint", help="integrate entries and sign a checkpoint when due")
        checkpoint.add_argument("--force", action="store_true", help="sign a checkpoint now if there is anything new")
        trust = sub.add_parser("trust", help="write a trust file for an auditor to keep")
        trust.add_argument("--out", required=True, help="the trust file to write (JSON)")
        init_root = sub.add_parser("init-root", help="create the ledger's root key (keep it offline)")
        init_root.add_argument("--out", required=True, help="where to write the root private key (PEM, must not exist)")
        rotate = sub.add_parser("rotate-key", help="prepare (and with --root-key, activate) a new signing key")
        rotate.add_argument("--purpose", choices=["entry", "checkpoint"], default="entry")
        rotate.add_argument("--private-key-file", help="PEM or base64 Ed25519 private key (default: generate one)")
        rotate.add_argument(
            "--effective-in", type=int, default=120, metavar="SECONDS",
            help="seconds until the new key takes over (at least 60 when activated: every process must see it "
                 "first; default 120)",
        )
        rotate.add_argument("--root-key", help="the root private key (PEM): certify and activate at once")
        rotate.add_argument("--statement-out", help="where to write the statement for certify-key "
                                                    "(default: <key id>.statement.json in the current directory)")
        certify = sub.add_parser("certify-key", help="sign a key statement with the root key")
        certify.add_argument("statement", help="the statement written by rotate-key")
        certify.add_argument("--root-key", required=True, help="the root private key (PEM)")
        certify.add_argument("--out", required=True, help="the certificate to write (JSON)")
        existing = sub.add_parser("certify-existing",
                                  help="certify the keys registered before certificates existed (an upgraded ledger)")
        existing.add_argument("--root-key", help="the root private key (PEM); default: the development root")
        activate = sub.add_parser("activate-key", help="activate a certified key")
        activate.add_argument("certificate", help="the certificate written by certify-key")
        keys = sub.add_parser("keys", help="list the signing keys")
        keys.add_argument("--json", action="store_true", dest="as_json", help="as JSON (what keys.json holds)")

    def handle(self, *args, action, **options):
        return getattr(self, "handle_" + action.replace("-", "_"))(**options)

    # --- subcommands -------------------------------------------------------------------
    def handle_verify(self, full=False, no_progress=False, as_json=False, trust=None, update_trust=False, since=None,
                      workers=None, **_):
        import os

        from ledger.evidence import SinceUnavailable, verify_database
        from ledger.models import AuditEntry
        from ledger.tamkeen_verify import NEXT_STEPS, BundleError, ProgressBar, load_trust, save_trust

        if update_trust and not trust:
            raise CommandError("--update-trust needs --trust FILE", returncode=2)
        if update_trust and since not in (None, "trust"):
            # The kept checkpoint may be older than the base, which --since does not re-check.
            raise CommandError("with --since, --update-trust needs '--since trust' (the checkpoint your trust file "
                               "keeps)", returncode=2)
        if workers is not None and workers < 1:
            raise CommandError("--workers needs a number of processes of at least 1", returncode=2)
        try:
            kept = load_trust(trust) if trust else None
        except BundleError as exc:
            raise CommandError(str(exc), returncode=2) from None
        started = time.monotonic()
        # The whole ledger's count is the bar's total; --since reads an unknown part of it.
        total = None if since else AuditEntry.objects.count()
        bar = ProgressBar(total, enabled=False if no_progress or as_json else None)
        try:
            report = verify_database(full=full, progress=bar, trust=kept, since=since,
                                     workers=workers or os.cpu_count() or 1)
        except SinceUnavailable as exc:
            raise CommandError(str(exc), returncode=2) from None
        bar.close(report.entries)
        if as_json:
            self.stdout.write(json.dumps(report.as_dict(), indent=1))
        else:
            self.stdout.write(report.summary())
            self.stdout.write(f"verified in {time.monotonic() - started:.1f} s")
        if not report.ok:
            raise CommandError(f"audit ledger NOT intact — first bad item: {report.problems[0]}\n{NEXT_STEPS[1]}",
                               returncode=1)
        if update_trust:
            from ledger.evidence import checkpoint_records
            from ledger.tamkeen_verify import newest_checkpoint

            newest = newest_checkpoint(checkpoint_records())
            if newest:
                kept.checkpoint_record = newest
                save_trust(kept, trust)
                self.stdout.write(f"trust file updated: it now keeps the checkpoint of size "
                                  f"{json.loads(newest['canonical'])['size']}")

    def handle_export(self, out, no_progress=False, **_):
        from ledger.evidence import export_bundle
        from ledger.models import AuditEntry
        from ledger.tamkeen_verify import ProgressBar

        target = Path(out)
        if target.exists():
            raise CommandError(f"{target} already exists: choose a new directory")
        bar = ProgressBar(AuditEntry.objects.count(), enabled=False if no_progress else None, unit="entries written")
        manifest = export_bundle(target, progress=bar)
        bar.close(manifest["entries"])
        self.stdout.write(
            f"evidence bundle written to {target}: {manifest['entries']} entries, "
            f"{manifest['checkpoints']} checkpoints.\nVerify it offline with your own installed verifier and the "
            f"trust file you keep: tamkeen-verify {target} --trust trust.json --signatures"
        )

    def handle_prove(self, entry_id, out, **_):
        from ledger.evidence import ProofInvalid, ProofUnavailable, inclusion_proof

        try:
            proof = inclusion_proof(entry_id)
        except ProofInvalid as exc:
            raise CommandError(f"NO valid proof: {exc}", returncode=1) from None
        except ProofUnavailable as exc:
            raise CommandError(str(exc)) from None
        try:
            Path(out).write_text(json.dumps(proof, indent=1))
        except OSError as exc:
            raise CommandError(f"cannot write the proof to {out}: {exc.strerror or exc}") from None
        self.stdout.write(
            f"inclusion proof of entry {entry_id} (index {proof['index']}, {len(proof['path'])} hashes) "
            f"written to {out}.\nVerify it offline with: python3 verify.py --proof {out}"
        )

    def handle_checkpoint(self, force=False, **_):
        from ledger.integrator import integrate

        shown = []

        def progress(what, done, total):
            if what == "stored tree" or total >= 10_000:
                self.stderr.write(f"\r  {what}: {done:,}/{total:,} entries", ending="")
                self.stderr.flush()
                shown.append(what)

        result = integrate(force_checkpoint=force, progress=progress)
        if shown:
            self.stderr.write("")
        if result.skipped_locked:
            self.stdout.write("another integrator is running; nothing done")
            return
        if result.refused:
            raise CommandError(f"no checkpoint signed: {result.refused}. The auditors were alerted.", returncode=1)
        if result.backfilled:
            self.stdout.write(f"stored tree filled in for {result.backfilled} entries integrated before it existed")
        self.stdout.write(f"integrated {result.integrated} entries; tree size {result.tree_size}")
        if result.checkpoint:
            if result.checkpoints > 1:
                self.stdout.write(f"signed {result.checkpoints} checkpoints")
            self.stdout.write(f"signed checkpoint: size {result.checkpoint.size}, root {result.checkpoint.root_hash}")
        else:
            self.stdout.write("no checkpoint due (use --force to sign one now)")
        from ledger.witnesses import configured, cosign_pending

        if configured():
            for outcome in cosign_pending():
                self.stdout.write(f"witness {outcome.witness}: checkpoint of size {outcome.checkpoint_size} "
                                  f"{outcome.result}")

    def handle_trust(self, out, **_):
        from django.conf import settings

        from ledger.evidence import checkpoint_records
        from ledger.keys import root_public_key
        from ledger.tamkeen_verify import Trust, key_id_for, newest_checkpoint, save_trust

        root = root_public_key()
        if root is None:
            raise CommandError("no ledger root is pinned (TAMKEEN_LEDGER_ROOT_PUBLIC_KEY)")
        witnesses = [{"name": w["name"], "id": key_id_for(w["public_key"]), "public_key": w["public_key"]}
                     for w in settings.TAMKEEN_WITNESSES]
        trust = Trust(root, witnesses, min(settings.TAMKEEN_WITNESS_QUORUM, len(witnesses)),
                      newest_checkpoint(checkpoint_records()))
        try:
            save_trust(trust, out)
        except OSError as exc:
            raise CommandError(f"cannot write {out}: {exc.strerror or exc}") from None
        size = trust.checkpoint["size"] if trust.checkpoint else 0
        self.stdout.write(
            f"trust file written to {out}: root {key_id_for(root)}, {len(witnesses)} witness(es) "
            f"({trust.witness_quorum} required), checkpoint of size {size}.\n"
            "Compare the root with the one the council published, keep the file yourself, and verify each bundle "
            f"with your own verifier: 'tamkeen-verify BUNDLE --trust {out} --signatures --update-trust'."
        )

    def handle_init_root(self, out, **_):
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        from ledger.keys import public_hex, write_private_key_file
        from ledger.tamkeen_verify import key_id_for

        root = Ed25519PrivateKey.generate()
        try:
            write_private_key_file(root, Path(out))
        except FileExistsError:
            raise CommandError(f"{out} already exists: a root key is never overwritten") from None
        except OSError as exc:
            raise CommandError(f"cannot write {out}: {exc.strerror or exc}") from None
        public = public_hex(root)
        self.stdout.write(
            f"ledger root key {key_id_for(public)} written to {out} (readable by you only).\n"
            f"public key: {public}\n"
            "Keep the private key offline (the council's or the auditors' custody). Pin the public key on the "
            f"servers: TAMKEEN_LEDGER_ROOT_PUBLIC_KEY={public}"
        )

    def handle_rotate_key(self, purpose, private_key_file=None, effective_in=120, root_key=None, statement_out=None,
                          **_):
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        from django.utils import timezone

        from ledger.keys import (
            ActivationTooSoon,
            UncertifiedKey,
            certify,
            development_root,
            public_hex,
            rotate_key,
            statement_for,
            write_private_key,
        )

        private_key = _read_private_key(private_key_file) if private_key_file else Ed25519PrivateKey.generate()
        statement = statement_for(public_hex(private_key), purpose, timezone.now() + timedelta(seconds=effective_in))
        root = _read_private_key(root_key) if root_key else development_root()
        if root is not None:
            if not root_key:
                self.stderr.write("certified with the DEVELOPMENT root (no root is pinned)")
            try:
                row = rotate_key(purpose, private_key=private_key, certificate=certify(statement, root))
            except (ActivationTooSoon, UncertifiedKey) as exc:
                raise CommandError(str(exc)) from None
            self.stdout.write(f"new {purpose} key {row.key_id} certified and active from "
                              f"{row.valid_from.isoformat()}; the previous key's window closes then.")
            return
        target = Path(statement_out or f"{statement['key_id']}.statement.json")
        write_private_key(private_key, statement["key_id"])
        target.write_text(json.dumps(statement, indent=1, sort_keys=True))
        self.stdout.write(
            f"new {purpose} key {statement['key_id']} prepared (private key in TAMKEEN_KEY_DIR); its statement is in "
            f"{target}, to take over at {statement['valid_from']}.\n"
            f"Certify it where the root key is kept: manage.py audit certify-key {target} --root-key ROOT.pem "
            f"--out CERT.json\nthen here: manage.py audit activate-key CERT.json (before {statement['valid_from']}, "
            "with at least a minute to spare)."
        )

    def handle_certify_key(self, statement, root_key, out, **_):
        from ledger.keys import certify
        from ledger.tamkeen_verify import CERTIFICATE_TYPE, key_id_for

        try:
            document = json.loads(Path(statement).read_text())
            if document.get("type") != CERTIFICATE_TYPE or document.get("key_id") != key_id_for(document["public_key"]):
                raise ValueError("not a key statement written by 'audit rotate-key'")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CommandError(f"cannot read the statement {statement}: {exc}") from None
        certificate = certify(document, _read_private_key(root_key))
        try:
            with open(out, "x") as handle:
                handle.write(json.dumps(certificate, indent=1, sort_keys=True))
        except FileExistsError:
            raise CommandError(f"{out} already exists") from None
        self.stdout.write(f"{document['purpose']} key {document['key_id']} certified by root "
                          f"{certificate['root_key_id']}: {out}. Activate it with 'manage.py audit activate-key {out}'.")

    def handle_certify_existing(self, root_key=None, **_):
        from ledger.keys import certify_existing, development_root

        root = _read_private_key(root_key) if root_key else development_root()
        if root is None:
            raise CommandError("give --root-key ROOT.pem (no development root here)")
        done = certify_existing(root)
        self.stdout.write(f"certified {len(done)} key(s): {', '.join(done) or 'none was left uncertified'}")

    def handle_activate_key(self, certificate, **_):
        from ledger.keys import ActivationTooSoon, UncertifiedKey, rotate_key

        try:
            document = json.loads(Path(certificate).read_text())
            purpose = document["statement"]["purpose"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CommandError(f"cannot read the certificate {certificate}: {exc}") from None
        try:
            row = rotate_key(purpose, certificate=document)
        except (ActivationTooSoon, UncertifiedKey) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"{purpose} key {row.key_id} active from {row.valid_from.isoformat()}; "
                          "the previous key's window closes then.")

    def handle_keys(self, as_json=False, **_):
        from ledger.evidence import key_file
        from ledger.keys import root_public_key
        from ledger.tamkeen_verify import PublicKey, key_id_for

        data = key_file()
        if as_json:
            self.stdout.write(json.dumps(data, indent=1))
            return
        root = root_public_key()
        self.stdout.write(f"root       {key_id_for(root) if root else '(none pinned)'}  {root or ''}")
        if not data["keys"]:
            self.stdout.write("no signing keys yet")
        for item in data["keys"]:
            key = PublicKey.from_json(item)
            why = key.trust_problem(root) if root else "no root pinned"
            until = item["valid_until"] or "(active)"
            self.stdout.write(f"{key.purpose:<10} {key.key_id}  {key.public_hex}  {item['valid_from']} → {until}  "
                              f"{'certified' if why is None else 'NOT TRUSTED: ' + why}")


def _read_private_key(path):
    from ledger.keys import private_key_from_text

    try:
        return private_key_from_text(Path(path).read_bytes())
    except (OSError, ValueError) as exc:
        raise CommandError(f"cannot read an Ed25519 private key from {path}: {exc}") from None
