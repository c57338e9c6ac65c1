"""Each program's running envelope totals, kept as its events are written, and their
starting values summed from the events already recorded."""

import django.db.models.deletion
import django.utils.timezone
from decimal import Decimal
from django.db import migrations, models



def backfill(apps, schema_editor):
    from django.db.models import Count, Q, Sum

    EnvelopeEvent = apps.get_model("disbursements", "EnvelopeEvent")
    EnvelopeBalance = apps.get_model("disbursements", "EnvelopeBalance")
    zero = Decimal("0.00")
    rows = EnvelopeEvent.objects.values("program_id").annotate(
        commit=Sum("amount", filter=Q(kind="commit")), decommit=Sum("amount", filter=Q(kind="decommit")),
        release=Sum("amount", filter=Q(kind="release")), events=Count("pk"),
    )
    EnvelopeBalance.objects.bulk_create([
        EnvelopeBalance(program_id=row["program_id"], committed=(row["commit"] or zero) - (row["decommit"] or zero),
                        released=row["release"] or zero, events=row["events"])
        for row in rows.order_by("program_id")
    ])


class Migration(migrations.Migration):

    dependencies = [
        ('disbursements', '0003_roles'),
        ('workflow', '0021_inbox_claimable_by_age_pg'),
    ]

    operations = [
        migrations.CreateModel(
            name='EnvelopeBalance',
            fields=[
                ('program', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, primary_key=True, related_name='envelope_balance', serialize=False, to='workflow.program', verbose_name='program')),
                ('committed', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=14, verbose_name='committed (MAD)')),
                ('released', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=14, verbose_name='released (MAD)')),
                ('events', models.PositiveIntegerField(default=0, verbose_name='events')),
                ('updated_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='updated')),
            ],
            options={
                'verbose_name': 'envelope balance',
                'verbose_name_plural': 'envelope balances',
                'constraints': [models.CheckConstraint(condition=models.Q(('released__gte', 0)), name='envelope_balance_released_not_negative'), models.CheckConstraint(condition=models.Q(('released__lte', models.F('committed'))), name='envelope_balance_released_within_committed')],
            },
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
