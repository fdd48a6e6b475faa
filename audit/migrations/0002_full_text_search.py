"""Full-text search over AuditRecord.search_text with the database's own engine.

SQLite (embedded profile): an FTS5 table with the records as external content, kept in step by
triggers. PostgreSQL: a stored generated column `search_vector` = to_tsvector('simple',
search_text) with a GIN index (stored, so testing a record needs no parsing: `audit.search` walks
recent records with it). 'simple' means no stemming, the same word matching as FTS5's unicode61
tokenizer. The column is not on the Django model: only `audit.search` reads it.
"""

from django.db import migrations

SQLITE_FORWARD = [
    "CREATE VIRTUAL TABLE audit_fts USING fts5(search_text, content='audit_auditrecord', content_rowid='id')",
    "CREATE TRIGGER audit_fts_insert AFTER INSERT ON audit_auditrecord BEGIN "
    "INSERT INTO audit_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    # Records are never deleted or updated through the app; these keep the index true when raw SQL
    # (a test flushing tables, or tampering that verify_audit will report) does.
    "CREATE TRIGGER audit_fts_delete AFTER DELETE ON audit_auditrecord BEGIN "
    "INSERT INTO audit_fts(audit_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text); END",
    "CREATE TRIGGER audit_fts_update AFTER UPDATE ON audit_auditrecord BEGIN "
    "INSERT INTO audit_fts(audit_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text); "
    "INSERT INTO audit_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "INSERT INTO audit_fts(audit_fts) VALUES ('rebuild')",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS audit_fts_insert",
    "DROP TRIGGER IF EXISTS audit_fts_delete",
    "DROP TRIGGER IF EXISTS audit_fts_update",
    "DROP TABLE IF EXISTS audit_fts",
]
POSTGRES_FORWARD = [
    "ALTER TABLE audit_auditrecord ADD COLUMN search_vector tsvector "
    "GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED",
    "CREATE INDEX audit_search_fts ON audit_auditrecord USING gin (search_vector)",
]
POSTGRES_BACKWARD = ["DROP INDEX IF EXISTS audit_search_fts", "ALTER TABLE audit_auditrecord DROP COLUMN search_vector"]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_FORWARD, "postgresql": POSTGRES_FORWARD}),
            _run({"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRES_BACKWARD}),
        ),
    ]
