"""Records are sealed after they commit: `seq` may be NULL and the hashes empty until then.

Writers insert records unsealed; `audit.chain.seal` gives them seq and hashes in commit order. The
partial index `audit_unsealed` is the sealer's work list. A run's trail is read in id order, so its
index is (run_id, id) instead of (run_id, seq).

On SQLite, altering a column rebuilds the table, which drops the triggers keeping the FTS5 index in
step (see 0004); they are created again after the rebuild, in both directions. The update trigger
now fires only when `search_text` changes: sealing updates seq and hashes only, and re-indexing
every record's text at its seal would double the cost of a record.
"""

from importlib import import_module

from django.db import migrations, models

FTS_TRIGGERS = [
    statement for statement in import_module("audit.migrations.0002_full_text_search").SQLITE_FORWARD
    if statement.startswith("CREATE TRIGGER")
]
NARROWED = [
    statement.replace("AFTER UPDATE ON audit_auditrecord", "AFTER UPDATE OF search_text ON audit_auditrecord")
    for statement in FTS_TRIGGERS
]


def _restore(statements):
    def restore(apps, schema_editor):
        if schema_editor.connection.vendor == "sqlite":
            schema_editor.execute("DROP TRIGGER IF EXISTS audit_fts_update")
            for statement in statements:
                schema_editor.execute(statement.replace("CREATE TRIGGER", "CREATE TRIGGER IF NOT EXISTS", 1))

    return restore


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0006_access_kind'),
    ]

    operations = [
        # Listed before the rebuild too, so that unapplying restores the triggers as they were.
        migrations.RunPython(migrations.RunPython.noop, _restore(FTS_TRIGGERS)),
        migrations.AlterField(
            model_name='auditrecord',
            name='seq',
            field=models.BigIntegerField(blank=True, help_text='Position in the hash chain: 1, 2, ... without gaps; empty until the sealer reaches the record (within about 1 s).', null=True, unique=True),
        ),
        migrations.AlterField(
            model_name='auditrecord',
            name='prev_hash',
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AlterField(
            model_name='auditrecord',
            name='hash',
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.RemoveIndex(
            model_name='auditrecord',
            name='audit_run_seq',
        ),
        migrations.AddIndex(
            model_name='auditrecord',
            index=models.Index(fields=['run_id', 'id'], name='audit_run_id'),
        ),
        migrations.AddIndex(
            model_name='auditrecord',
            index=models.Index(condition=models.Q(('seq__isnull', True)), fields=['id'], name='audit_unsealed'),
        ),
        migrations.RunPython(_restore(NARROWED), migrations.RunPython.noop),
    ]
