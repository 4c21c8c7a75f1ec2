"""The database refuses UPDATE and DELETE on policy acknowledgements.

An acknowledgement is evidence that a member of staff was trained on a policy (45 CFR
164.530(b)); documentation is kept six years (164.316(b)(2)). A row trigger stops any
client (ORM, raw SQL, psql) from editing or removing one.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION compliance_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'table % is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$;
CREATE TRIGGER compliance_policyacknowledgement_no_update_delete
    BEFORE UPDATE OR DELETE ON compliance_policyacknowledgement
    FOR EACH ROW EXECUTE FUNCTION compliance_refuse_change();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS compliance_policyacknowledgement_no_update_delete
    ON compliance_policyacknowledgement;
DROP FUNCTION IF EXISTS compliance_refuse_change();
"""


class Migration(migrations.Migration):
    dependencies = [("compliance", "0001_policies_and_business_associates")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
