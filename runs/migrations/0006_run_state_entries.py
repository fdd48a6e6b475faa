"""A run's state stored as it grows: its conversation items and execution events as append-only
`RunStateEntry` rows, the rest in `Run.state` (runs/state_store.py). Existing runs' states are split
the same way (their `next_input` kept as a list, which the loader takes as it is); going back joins
them again."""

import django.db.models.deletion
from django.db import migrations, models

KINDS = (("items", "item", "item_count"), ("events", "event", "event_count"))


def split_states(apps, schema_editor):
    Run, RunStateEntry = apps.get_model("runs", "Run"), apps.get_model("runs", "RunStateEntry")
    for run in Run.objects.filter(state__isnull=False).only("pk", "state").iterator():
        state = dict(run.state or {})
        if not state or "item_count" in state:
            continue
        entries = []
        for key, kind, count in KINDS:
            values = state.pop(key, None) or []
            entries += [RunStateEntry(run_id=run.pk, kind=kind, position=n, value=v) for n, v in enumerate(values)]
            state[count] = len(values)
        RunStateEntry.objects.bulk_create(entries)
        Run.objects.filter(pk=run.pk).update(state=state)


def join_states(apps, schema_editor):
    Run, RunStateEntry = apps.get_model("runs", "Run"), apps.get_model("runs", "RunStateEntry")
    for run in Run.objects.filter(state__isnull=False).only("pk", "state").iterator():
        state = dict(run.state or {})
        if "item_count" not in state:
            continue
        for key, kind, count in KINDS:
            rows = RunStateEntry.objects.filter(run_id=run.pk, kind=kind, position__lt=state.pop(count))
            state[key] = list(rows.order_by("position").values_list("value", flat=True))
        start = state.pop("next_input_from", None)
        if start is not None:
            state["next_input"] = state["items"][start:]
        Run.objects.filter(pk=run.pk).update(state=state)


class Migration(migrations.Migration):

    dependencies = [
        ('runs', '0005_run_origin_remote_sessions'),
    ]

    operations = [
        migrations.AlterField(
            model_name='run',
            name='state',
            field=models.JSONField(blank=True, help_text="The guarded runner's RunState after the last step, without its conversation items and execution events (those are the run's state entries).", null=True),
        ),
        migrations.CreateModel(
            name='RunStateEntry',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('item', 'Conversation item'), ('event', 'Execution event')], max_length=5)),
                ('position', models.PositiveIntegerField()),
                ('value', models.JSONField()),
                ('run', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='state_entries', to='runs.run')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('run', 'kind', 'position'), name='run_state_entry_unique')],
            },
        ),
        migrations.RunPython(split_states, join_states),
    ]
