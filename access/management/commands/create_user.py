"""``manage.py create_user``: create or update a login and give it its roles.

The operator's act at the server: the roles given or taken and the superuser flag are
signed on the person's audit chain (``access.services.operator_set_roles``, actor
"operator"), and the separation-of-duties table holds here as in the application."""

import argparse
import getpass
import secrets
import sys
from pathlib import Path

from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email
from django.db import transaction

from access.services import operator_set_roles
from core.exceptions import TamkeenError
from core.roles import Role

User = get_user_model()

ROLE_NAMES = ", ".join(Role.values)


def parse_roles(values) -> list[Role]:
    """``--role`` values (repeatable, or comma-separated) as Roles, in the table's order.

    Raises CommandError naming every unknown role and listing the valid ones."""
    wanted = {v.strip().lower().replace("-", "_") for value in values for v in value.split(",") if v.strip()}
    unknown = sorted(wanted - set(Role.values))
    if unknown:
        raise CommandError(
            f"Unknown role{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}. "
            f"Valid roles: {ROLE_NAMES}."
        )
    # The chair is also a member of the committee (DESIGN.md §1).
    if Role.COMMITTEE_CHAIR in wanted:
        wanted.add(Role.COMMITTEE_MEMBER.value)
    return [role for role in Role if role.value in wanted]


class Command(BaseCommand):
    help = (
        "Create a Tamkeen login, or update an existing one, and set its roles (Django groups). "
        f"Roles: {ROLE_NAMES}. "
        "Example: manage.py create_user salma --role association_agent --email salma@example.org. "
        "The password comes from --password, --password-file or an interactive prompt; with "
        "--generate-password, or when a new user is created without a terminal, a random one is "
        "generated and printed once. Updating a user keeps its password unless one is given."
    )

    def add_arguments(self, parser):
        parser.add_argument("username", help="Login name (letters, digits and @/./+/-/_).")
        parser.add_argument(
            "--role", action="append", default=[], metavar="ROLE", dest="roles",
            help="A role to hold; repeat it or separate with commas. On an existing user the "
                 "roles given replace its current roles; without --role they are kept. "
                 "committee_chair implies committee_member.",
        )
        parser.add_argument("--email", help="E-mail address.")
        parser.add_argument("--first-name", help="First name.")
        parser.add_argument("--last-name", help="Last name.")
        password = parser.add_mutually_exclusive_group()
        password.add_argument(
            "--password", help="The password (visible in the shell history: prefer --password-file)."
        )
        password.add_argument(
            "--password-file", type=Path, metavar="FILE",
            help="Read the password from the first line of FILE ('-' for standard input).",
        )
        password.add_argument(
            "--generate-password", action="store_true",
            help="Generate a random password and print it once.",
        )
        parser.add_argument(
            "--staff", action=argparse.BooleanOptionalAction, default=None,
            help="May log in to the Django admin site (for administrators; default: unchanged, "
                 "off for a new user).",
        )
        parser.add_argument(
            "--superuser", action=argparse.BooleanOptionalAction, default=None,
            help="Holds every permission. Only with the admin role; implies --staff.",
        )
        parser.add_argument(
            "--active", action=argparse.BooleanOptionalAction, default=None,
            help="May log in (default: unchanged, on for a new user). --no-active deactivates.",
        )
        parser.add_argument(
            "--reason", default="",
            help="Why, kept in the person's audit history with the roles given or taken "
                 "(default: 'manage.py create_user').",
        )
        parser.add_argument(
            "--no-input", action="store_false", dest="interactive",
            help="Never prompt; a new user without a password gets a generated one.",
        )

    def handle(self, *args, username, roles, interactive, **options):
        username = username.strip()
        try:
            User.username_validator(username)
        except ValidationError as exc:
            raise CommandError(f"Invalid username {username!r}: {' '.join(exc.messages)}") from None
        role_list = parse_roles(roles)
        email = options["email"]
        if email is not None:
            email = email.strip()
            try:
                validate_email(email)
            except ValidationError:
                raise CommandError(f"Invalid e-mail address {email!r}.") from None

        user = User.objects.filter(username=username).first()
        creating = user is None
        if creating and not role_list:
            raise CommandError(f"Give at least one --role for a new user. Valid roles: {ROLE_NAMES}.")
        held = set() if creating else set(user.groups.values_list("name", flat=True))
        final_roles = role_list or [r for r in Role if r.value in held]
        superuser = options["superuser"] if options["superuser"] is not None else (
            False if creating else user.is_superuser
        )
        if superuser and Role.ADMIN not in final_roles:
            raise CommandError("--superuser is only for administrators: add --role admin.")
        if superuser and options["staff"] is False:
            raise CommandError("A superuser must be staff: drop --no-staff.")

        self._groups(role_list)  # the groups exist (the roles were synchronised)
        user = user or User(username=username)
        if email is not None:
            user.email = email
        for field in ("first_name", "last_name"):
            if options[field] is not None:
                setattr(user, field, options[field].strip())
        if options["active"] is not None:
            user.is_active = options["active"]
        if options["staff"] is not None:
            user.is_staff = options["staff"]
        elif Role.ADMIN in final_roles and creating:
            user.is_staff = True  # an administrator works in the admin site
        user.is_staff = user.is_staff or superuser
        # After the attributes: the similarity validator compares the password with them.
        password, generated = self._password(options, interactive, creating, user)
        if password is not None:
            user.set_password(password)
        reason = options["reason"].strip() or "manage.py create_user"
        try:
            with transaction.atomic():
                user.save()
                # Only role groups are replaced; any other group the user is in stays.
                operator_set_roles(user, final_roles, superuser=superuser, reason=reason)
        except TamkeenError as exc:
            raise CommandError(str(exc.message)) from None
        user.refresh_from_db()

        flags = [f for f, on in (("staff", user.is_staff), ("superuser", user.is_superuser)) if on]
        if not user.is_active:
            flags.append("inactive")
        self.stdout.write(self.style.SUCCESS(
            f"{'Created' if creating else 'Updated'} user {user.username}: "
            f"roles {', '.join(r.value for r in final_roles) or '(none)'}"
            + (f"; {', '.join(flags)}" if flags else "")
            + ("; password changed" if password is not None and not creating else "")
            + "."
        ))
        if generated:
            self.stdout.write(f"Generated password (shown once): {password}")

    def _groups(self, roles):
        groups = {g.name: g for g in Group.objects.filter(name__in=[r.value for r in roles])}
        missing = [r.value for r in roles if r.value not in groups]
        if missing:
            raise CommandError(
                f"The group of role(s) {', '.join(missing)} does not exist: run `manage.py migrate` "
                "or `manage.py sync_roles` first."
            )
        return [groups[r.value] for r in roles]

    def _password(self, options, interactive, creating, user):
        """(password or None to leave it, whether it was generated)."""
        if options["generate_password"]:
            return secrets.token_urlsafe(12), True
        if options["password"] is not None:
            password = options["password"]
        elif options["password_file"] is not None:
            password = self._read_password_file(options["password_file"])
        elif not creating:
            return None, False
        elif interactive and sys.stdin.isatty():
            password = self._prompt()
        else:
            return secrets.token_urlsafe(12), True
        if not password:
            raise CommandError("The password is empty.")
        try:
            password_validation.validate_password(password, user)
        except ValidationError as exc:
            raise CommandError("Password refused: " + " ".join(exc.messages)) from None
        return password, False

    @staticmethod
    def _read_password_file(path: Path) -> str:
        try:
            text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"Cannot read the password file {path}: {exc.strerror}.") from None
        lines = text.splitlines()
        return lines[0] if lines else ""

    @staticmethod
    def _prompt() -> str:
        for _attempt in range(3):
            first = getpass.getpass("Password: ")
            if first and first == getpass.getpass("Password (again): "):
                return first
            sys.stderr.write("The passwords are empty or do not match, try again.\n")
        raise CommandError("No password confirmed.")
