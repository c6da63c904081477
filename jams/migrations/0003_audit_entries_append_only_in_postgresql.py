"""The audit log is append-only in the database too, not only in the model.

On PostgreSQL a trigger refuses to delete an audit row and refuses every
update but the three that the application makes on purpose: a deleted jam or
account leaves its rows (``jam_id`` / ``actor_id`` set to null by the foreign
keys' SET NULL), and a deleted account's label becomes its pseudonym,
"deleted member <id>", while the row still names the account
(accounts.services.account_delete). A bulk
``update()``, a raw ``UPDATE``/``DELETE`` or the admin cannot rewrite history.
TRUNCATE is left to the operator (and to the test runner's flush).

SQLite, the embedded development database, keeps the model-level guard only.
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION jams_auditentry_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'audit entries are append-only (delete refused)'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.id IS DISTINCT FROM OLD.id
        OR NEW.action IS DISTINCT FROM OLD.action
        OR NEW.target IS DISTINCT FROM OLD.target
        OR NEW.reason IS DISTINCT FROM OLD.reason
        OR NEW.data IS DISTINCT FROM OLD.data
        OR NEW.created_at IS DISTINCT FROM OLD.created_at
        OR (NEW.jam_id IS DISTINCT FROM OLD.jam_id AND NEW.jam_id IS NOT NULL)
        OR (NEW.actor_id IS DISTINCT FROM OLD.actor_id AND NEW.actor_id IS NOT NULL)
        OR (NEW.actor_label IS DISTINCT FROM OLD.actor_label
            AND NEW.actor_label IS DISTINCT FROM 'deleted member ' || OLD.actor_id)
    THEN
        RAISE EXCEPTION 'audit entries are append-only (update refused)'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER jams_auditentry_append_only
    BEFORE UPDATE OR DELETE ON jams_auditentry
    FOR EACH ROW EXECUTE FUNCTION jams_auditentry_append_only();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS jams_auditentry_append_only ON jams_auditentry;
DROP FUNCTION IF EXISTS jams_auditentry_append_only();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [
        ("jams", "0002_jam_texts_in_languages"),
    ]

    operations = [migrations.RunPython(forward, backward)]
