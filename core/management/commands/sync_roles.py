"""``manage.py sync_roles``: re-apply the role table of ``core.roles``."""

from django.apps import apps
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from core.roles import ROLE_PERMISSIONS, sync_roles


def _granted():
    """{role name: {"app_label.codename", ...}} as the database holds it now."""
    granted = {role.value: set() for role in ROLE_PERMISSIONS}
    rows = Group.permissions.through.objects.filter(group__name__in=granted).values_list(
        "group__name", "permission__content_type__app_label", "permission__codename"
    )
    for group, app_label, codename in rows:
        granted[group].add(f"{app_label}.{codename}")
    return granted


class Command(BaseCommand):
    help = (
        "Create each role's group and give it exactly the permissions listed in "
        "workflow/roles.py (ROLE_PERMISSIONS), adding missing ones and removing extra ones "
        "granted by hand. Idempotent; migrate already runs it once. Prints, per role, its "
        "permissions, what changed and how many users hold it."
    )

    def handle(self, *args, verbosity, **options):
        before = _granted()
        try:
            with transaction.atomic():
                sync_roles(apps)
        except LookupError as exc:
            raise CommandError(f"{exc}. Run `manage.py migrate` first, or fix workflow/roles.py.") from None
        after = _granted()
        holders = {
            g.name: g.user_set.count() for g in Group.objects.filter(name__in=after)
        }
        width = max(len(name) for name in after)
        changed = 0
        for role in ROLE_PERMISSIONS:
            name = role.value
            added, removed = after[name] - before[name], before[name] - after[name]
            changed += bool(added or removed)
            change = []
            if added:
                change.append(f"+{len(added)}")
            if removed:
                change.append(f"-{len(removed)}")
            self.stdout.write(
                f"{name:<{width}}  {len(after[name]):>3} permissions  "
                f"{' '.join(change) or 'unchanged':<9}  {holders.get(name, 0)} user(s)"
            )
            if verbosity > 1:
                for perm in sorted(added):
                    self.stdout.write(f"    + {perm}")
                for perm in sorted(removed):
                    self.stdout.write(f"    - {perm}")
        self.stdout.write(self.style.SUCCESS(
            f"{len(ROLE_PERMISSIONS)} roles in sync; {changed} changed."
        ))
