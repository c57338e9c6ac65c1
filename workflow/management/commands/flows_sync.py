"""``manage.py flows_sync``: give the flows' processes to what existed before them.

A database from before a flow existed holds sessions, orders, disbursements and visits
with no process, so no task in anyone's inbox. The signed ledger holds every transition
each of them went through: replaying those entries, oldest first, through the same
``transition_applied`` receivers that follow live transitions rebuilds each process as
if it had run from the start (its tasks dated today). Idempotent: an artifact that has
its process is left alone.
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from ledger.models import AuditEntry, entity_type_of
from ledger.signals import transition_applied
from workflow import engine
from workflow.flows import steps_match_state
from workflow.models import GrantProject


def _without_process(flow_class) -> list:
    model = flow_class.artifact_model
    have = set(
        flow_class.process_class._default_manager.filter(flow_class=flow_class)
        .exclude(artifact_object_id=None).values_list("artifact_object_id", flat=True)
    )
    return [pk for pk in model.objects.order_by("pk").values_list("pk", flat=True) if pk not in have]


class Command(BaseCommand):
    help = (
        "Start the flows' processes of the sessions, orders, disbursements, visits and files "
        "that have none (made before their flow existed) by replaying their signed ledger "
        "entries, oldest first. With --check, only report what has no process and the files "
        "whose open steps do not match their state; exit 1 when there is any."
    )

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="Report only; change nothing.")

    def handle(self, *args, check=False, **options):
        missing = {flow_class: _without_process(flow_class) for flow_class in engine.registered_flows()}
        for flow_class, pks in missing.items():
            self.stdout.write(f"{flow_class.__name__}: {len(pks)} without a process")
        if check:
            wrong = [p.reference for p in GrantProject.objects.order_by("pk") if not steps_match_state(p)]
            self.stdout.write(f"files whose open steps do not match their state: {len(wrong)}"
                              + (f" ({', '.join(wrong[:20])}{'…' if len(wrong) > 20 else ''})" if wrong else ""))
            if wrong or any(missing.values()):
                raise SystemExit(1)
            return
        users = {user.pk: user for user in get_user_model().objects.all()}
        replayed = 0
        for flow_class, pks in missing.items():
            model = flow_class.artifact_model
            for done, pk in enumerate(pks, 1):
                with transaction.atomic():
                    if hasattr(flow_class, "backfill"):  # not audited: the flow knows how
                        flow_class.backfill(model.objects.select_for_update().get(pk=pk))
                    else:
                        self._replay(model, pk, users)
                replayed += 1
                if done % 100 == 0 or done == len(pks):
                    self.stdout.write(f"  {flow_class.__name__}: {done}/{len(pks)}")
        self.stdout.write(self.style.SUCCESS(f"processes started: {replayed}"))

    def _replay(self, model, pk, users):
        instance = model.objects.select_for_update().get(pk=pk)
        entries = AuditEntry.objects.filter(entity_type=entity_type_of(model), entity_id=str(pk)).order_by("seq")
        for entry in entries.only("transition", "from_state", "to_state", "actor_id"):
            transition_applied.send(
                sender=model, instance=instance, transition=entry.transition, from_state=entry.from_state,
                to_state=entry.to_state, actor=users.get(entry.actor_id),
            )
