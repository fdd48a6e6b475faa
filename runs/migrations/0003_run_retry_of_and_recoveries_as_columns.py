"""`Run.recoveries` and `Run.retry_of` become columns, filled from the facts the event log held.

Until now the recovery limit counted the status events whose detail was the sentence recovery
writes, and a retry named the run it retried in its first event's payload (`retry_of`). Both are
read once here; from now on the columns are the record (the events keep their text for display).
"""

import django.db.models.deletion
from django.db import migrations, models

# The sentence runs.recovery wrote when it queued a run again (copied: a migration must not change
# when the code's wording does).
REQUEUED_DETAIL = "queued again: its worker stopped responding"


def columns_from_events(apps, schema_editor):
    Run = apps.get_model("runs", "Run")
    RunEvent = apps.get_model("runs", "RunEvent")
    requeues = (RunEvent.objects.filter(type="status", payload__detail=REQUEUED_DETAIL)
                .values("run_id").annotate(n=models.Count("id")))
    for row in requeues.iterator():
        Run.objects.filter(pk=row["run_id"]).update(recoveries=row["n"])
    retried = set()
    firsts = (RunEvent.objects.filter(seq=1, type="status", payload__has_key="retry_of")
              .order_by("created_at").values_list("run_id", "payload"))
    for run_id, payload in firsts.iterator():
        original = payload.get("retry_of")
        # At most one retry per run (the new one-to-one): a second claim, which the retry's row
        # lock prevented anyway, stays unlinked rather than failing the migration.
        if original and original not in retried and Run.objects.filter(pk=original).exists():
            Run.objects.filter(pk=run_id).update(retry_of_id=original)
            retried.add(original)


class Migration(migrations.Migration):

    dependencies = [
        ('runs', '0002_run_heartbeat'),
    ]

    operations = [
        migrations.AddField(
            model_name='run',
            name='recoveries',
            field=models.PositiveIntegerField(default=0, help_text='How many times recovery queued the run again after its worker stopped responding.'),
        ),
        migrations.AddField(
            model_name='run',
            name='retry_of',
            field=models.OneToOneField(blank=True, help_text='The failed run this run retries.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='retry', to='runs.run'),
        ),
        migrations.RunPython(columns_from_events, migrations.RunPython.noop),
    ]
