"""The database itself refuses UPDATE, DELETE and TRUNCATE on the audit tables.

45 CFR 164.312(b): the audit trail must be trustworthy. Row-level BEFORE triggers stop
UPDATE and DELETE (whatever the client: ORM, raw SQL, psql); a statement-level trigger
stops TRUNCATE, which row triggers never see. A superuser can still disable triggers;
the hash chain and signed checkpoints (``audit_verify``) are what find that.
"""

from django.db import migrations

TABLES = ("audit_auditevent", "audit_auditseal", "audit_auditcheckpoint")

FUNCTION = """
CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit table % is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'integrity_constraint_violation',
              HINT = 'Audit events are kept at least six years (45 CFR 164.316(b)(2)).';
END;
$$;
"""

TRIGGERS = "".join(
    f"""
CREATE TRIGGER {table}_no_update_delete
    BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER {table}_no_truncate
    BEFORE TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
"""
    for table in TABLES
)

DROP = "".join(
    f"""
DROP TRIGGER IF EXISTS {table}_no_update_delete ON {table};
DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};
"""
    for table in TABLES
) + "DROP FUNCTION IF EXISTS audit_refuse_change();"


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunSQL(sql=FUNCTION + TRIGGERS, reverse_sql=DROP)]
