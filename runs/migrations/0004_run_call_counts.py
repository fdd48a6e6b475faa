"""`Run.calls_*` count what happened to a run's calls; existing runs get them from their events.

From now on `runs.event_log.append_event` counts each settled call as its event is written. Runs that
existed before are counted here once, from their `execution_event` payloads' statuses, one UPDATE
per column whatever the number of runs.
"""

from django.db import migrations, models
from django.db.models.functions import Coalesce

# Copied from runs.models.CALL_COUNT_COLUMNS: a migration must not change when the code does.
CALL_COUNT_COLUMNS = {"executed": "calls_executed", "blocked": "calls_blocked", "denied": "calls_denied",
                      "expired": "calls_expired", "tool_error": "calls_failed"}


def counts_from_events(apps, schema_editor):
    Run = apps.get_model("runs", "Run")
    RunEvent = apps.get_model("runs", "RunEvent")
    for status, column in CALL_COUNT_COLUMNS.items():
        settled = (RunEvent.objects.filter(run=models.OuterRef("pk"), type="execution_event", payload__status=status)
                   .order_by().values("run").annotate(n=models.Count("pk")).values("n"))
        Run.objects.update(**{column: Coalesce(models.Subquery(settled), 0)})


class Migration(migrations.Migration):

    dependencies = [
        ('runs', '0003_run_retry_of_and_recoveries_as_columns'),
    ]

    operations = [
        migrations.AddField(
            model_name='run',
            name='calls_blocked',
            field=models.PositiveIntegerField(default=0, help_text='Tool calls blocked by policy, never run.'),
        ),
        migrations.AddField(
            model_name='run',
            name='calls_denied',
            field=models.PositiveIntegerField(default=0, help_text='Tool calls a reviewer denied, or denied because the run was cancelled or failed.'),
        ),
        migrations.AddField(
            model_name='run',
            name='calls_executed',
            field=models.PositiveIntegerField(default=0, help_text='Tool calls that ran.'),
        ),
        migrations.AddField(
            model_name='run',
            name='calls_expired',
            field=models.PositiveIntegerField(default=0, help_text='Tool calls whose review expired, never run.'),
        ),
        migrations.AddField(
            model_name='run',
            name='calls_failed',
            field=models.PositiveIntegerField(default=0, help_text='Tool calls that failed: the tool raised, or its arguments were invalid.'),
        ),
        migrations.RunPython(counts_from_events, migrations.RunPython.noop),
    ]
