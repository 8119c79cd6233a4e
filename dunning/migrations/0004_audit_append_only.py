"""On PostgreSQL, refuse UPDATE, DELETE and TRUNCATE on the audit trail.

(``%%`` below is a literal ``%``: the SQL goes through the driver's placeholder parsing.)

Deleting is possible only in a session that sets ``dunwell.allow_audit_purge = on`` (the test
database's teardown and the demo's reset). Nothing may ever UPDATE an entry.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION dunning_audit_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'TRUNCATE')
       AND current_setting('dunwell.allow_audit_purge', true) = 'on' THEN
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'the audit trail is append-only: %% refused', TG_OP;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER dunning_audit_no_update_delete
    BEFORE UPDATE OR DELETE ON dunning_auditentry
    FOR EACH ROW EXECUTE FUNCTION dunning_audit_append_only();

CREATE TRIGGER dunning_audit_no_truncate
    BEFORE TRUNCATE ON dunning_auditentry
    FOR EACH STATEMENT EXECUTE FUNCTION dunning_audit_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS dunning_audit_no_truncate ON dunning_auditentry;
DROP TRIGGER IF EXISTS dunning_audit_no_update_delete ON dunning_auditentry;
DROP FUNCTION IF EXISTS dunning_audit_append_only();
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("dunning", "0003_audit_entry")]

    operations = [migrations.RunPython(create, drop)]
