"""The `configuration` record kind: `kind` grows from 12 to 20 characters.

On SQLite, Django alters a column by rebuilding the table, which drops the table's triggers, and
with them the ones keeping the FTS5 index of migration 0002 in step: records appended afterwards
would never be found by text search. They are created again after the rebuild, in both directions.
PostgreSQL alters the column in place; its generated search column does not depend on `kind`.
"""

from importlib import import_module

from django.db import migrations, models

FTS_TRIGGERS = [
    statement for statement in import_module("audit.migrations.0002_full_text_search").SQLITE_FORWARD
    if statement.startswith("CREATE TRIGGER")
]


def restore_fts_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for statement in FTS_TRIGGERS:
            schema_editor.execute(statement.replace("CREATE TRIGGER", "CREATE TRIGGER IF NOT EXISTS", 1))


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0003_tool_time_index'),
    ]

    operations = [
        # Listed before the rebuild too, so that unapplying (a rebuild back to 12) restores them as well.
        migrations.RunPython(migrations.RunPython.noop, restore_fts_triggers),
        migrations.AlterField(
            model_name='auditrecord',
            name='kind',
            field=models.CharField(choices=[('decision', 'Decision'), ('execution', 'Tool execution'), ('approval', 'Approval'), ('run_status', 'Run status'), ('configuration', 'Configuration')], max_length=20),
        ),
        migrations.AlterField(
            model_name='auditrecord',
            name='status',
            field=models.CharField(blank=True, help_text="The call's event status, the run's status, or what a configuration change did (created, changed, deleted).", max_length=30),
        ),
        migrations.RunPython(restore_fts_triggers, migrations.RunPython.noop),
    ]
