"""manage.py audit — verify, export, prove, checkpoint and rotate keys of the audit ledger."""

import json
import sys
import time
from datetime import timedelta
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

HELP_EPILOG = """
subcommands:
  verify [--full] [--json]   check every hash, chain, checkpoint, key window and replay the
                             state machines against the live states (--full: every signature;
                             --json: the report with each problem's code and location)
  export OUT                 write an evidence bundle (directory OUT) for offline verification
  prove ENTRY_ID OUT         write the inclusion proof of one entry (verify it with verify.py --proof)
  checkpoint [--force]       integrate new entries and sign a checkpoint if one is due (or now)
  rotate-key [--purpose P]   activate a new signing key; old public keys are kept forever
  keys                       list the signing keys and their windows
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
        verify.add_argument("--no-progress", action="store_true", help="no progress bar")
        verify.add_argument("--json", action="store_true", dest="as_json",
                            help="print the report as JSON (each problem's code, message and location)")
        export = sub.add_parser("export", help="write an evidence bundle")
        export.add_argument("out", help="the bundle directory to create (must not exist)")
        prove = sub.add_parser("prove", help="write the inclusion proof of one entry")
        prove.add_argument("entry_id", type=int, help="the audit entry's id")
        prove.add_argument("out", help="the proof file to write (JSON)")
        checkpoint = sub.add_parser("checkpoint", help="integrate entries and sign a checkpoint when due")
        checkpoint.add_argument("--force", action="store_true", help="sign a checkpoint now if there is anything new")
        rotate = sub.add_parser("rotate-key", help="activate a new signing key")
        rotate.add_argument("--purpose", choices=["entry", "checkpoint"], default="entry")
        rotate.add_argument("--private-key-file", help="PEM or base64 Ed25519 private key (default: generate one)")
        rotate.add_argument(
            "--effective-in", type=int, default=60, metavar="SECONDS",
            help="seconds until the new key takes over (let every process see it first; default 60)",
        )
        sub.add_parser("keys", help="list signing keys and their windows")

    def handle(self, *args, action, **options):
        return getattr(self, "handle_" + action.replace("-", "_"))(**options)

    # --- subcommands -------------------------------------------------------------------
    def handle_verify(self, full=False, no_progress=False, as_json=False, **_):
        from ledger.evidence import verify_database
        from ledger.models import AuditEntry

        total = AuditEntry.objects.count()
        started = time.monotonic()
        show = not no_progress and not as_json and total > 0

        def progress(count):
            if show:
                width = 30
                filled = int(width * count / max(total, 1))
                sys.stderr.write(f"\r  [{'#' * filled}{'.' * (width - filled)}] {count:,}/{total:,} entries")
                sys.stderr.flush()

        report = verify_database(full=full, progress=progress)
        if show:
            progress(total)
            sys.stderr.write("\n")
        if as_json:
            self.stdout.write(json.dumps(report.as_dict(), indent=1))
        else:
            self.stdout.write(report.summary())
            self.stdout.write(f"verified in {time.monotonic() - started:.1f} s")
        if not report.ok:
            raise CommandError(f"audit ledger NOT intact — first bad entry: {report.problems[0]}", returncode=1)

    def handle_export(self, out, **_):
        from ledger.evidence import export_bundle

        target = Path(out)
        if target.exists():
            raise CommandError(f"{target} already exists: choose a new directory")

        def progress(count):
            sys.stderr.write(f"\r  {count:,} entries written")
            sys.stderr.flush()

        manifest = export_bundle(target, progress=progress)
        sys.stderr.write("\n")
        self.stdout.write(
            f"evidence bundle written to {target}: {manifest['entries']} entries, "
            f"{manifest['checkpoints']} checkpoints.\nVerify it offline with: python3 {target}/verify.py {target}"
        )

    def handle_prove(self, entry_id, out, **_):
        from ledger.evidence import ProofUnavailable, inclusion_proof

        try:
            proof = inclusion_proof(entry_id)
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

        result = integrate(force_checkpoint=force)
        if result.skipped_locked:
            self.stdout.write("another integrator is running; nothing done")
            return
        self.stdout.write(f"integrated {result.integrated} entries; tree size {result.tree_size}")
        if result.checkpoint:
            self.stdout.write(f"signed checkpoint: size {result.checkpoint.size}, root {result.checkpoint.root_hash}")
        else:
            self.stdout.write("no checkpoint due (use --force to sign one now)")

    def handle_rotate_key(self, purpose, private_key_file=None, effective_in=60, **_):
        from ledger.keys import private_key_from_text, rotate_key

        private_key = None
        if private_key_file:
            try:
                private_key = private_key_from_text(Path(private_key_file).read_bytes())
            except (OSError, ValueError) as exc:
                raise CommandError(f"cannot read an Ed25519 private key from {private_key_file}: {exc}") from None
        if effective_in < 0:
            raise CommandError("--effective-in cannot be negative")
        row = rotate_key(purpose, private_key=private_key, effective_in=timedelta(seconds=effective_in))
        self.stdout.write(
            f"new {purpose} key {row.key_id} active from {row.valid_from.isoformat()}; "
            f"the previous key's window closes then. Its private key is in TAMKEEN_KEY_DIR."
        )

    def handle_keys(self, **_):
        from ledger.keys import key_windows

        windows = key_windows()
        if not windows:
            self.stdout.write("no signing keys yet")
        for w in windows:
            until = w.valid_until.isoformat() if w.valid_until else "(active)"
            self.stdout.write(f"{w.purpose:<10} {w.key_id}  {w.valid_from.isoformat()} → {until}")
