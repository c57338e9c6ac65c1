"""``manage.py createsuperuser`` is replaced: a superuser is made with ``create_user``,
which signs the act on the person's audit chain."""

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = ("Not used in Tamkeen: make an administrator with "
            "`manage.py create_user NAME --role admin --superuser --reason WHY`, "
            "which records the act in the signed audit ledger.")

    def add_arguments(self, parser):
        parser.add_argument("args", nargs="*")
        parser.add_argument("--username")
        parser.add_argument("--email")
        parser.add_argument("--noinput", "--no-input", action="store_true")
        parser.add_argument("--database")

    def handle(self, *args, **options):
        raise CommandError(self.help)
