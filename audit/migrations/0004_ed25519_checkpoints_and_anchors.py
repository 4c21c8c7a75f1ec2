"""Ed25519 checkpoints (signature, public head, previous checkpoint) and the anchor table.

Adding columns is DDL: the append-only row triggers do not fire, and existing
checkpoints keep their HMAC signatures (``algorithm`` = hmac-sha256). The anchor table
gets the same UPDATE/DELETE/TRUNCATE refusal as the other audit tables (0002).
"""

import django.db.models.deletion
import django.db.models.functions.datetime
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0003_activity_review'),
    ]

    operations = [
        migrations.CreateModel(
            name='AuditAnchor',
            fields=[
                ('checkpoint', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, primary_key=True, related_name='anchor', serialize=False, to='audit.auditcheckpoint')),
                ('sink', models.CharField(max_length=8)),
                ('location', models.CharField(max_length=300)),
                ('written_at', models.DateTimeField(db_default=django.db.models.functions.datetime.Now())),
            ],
        ),
        migrations.AddField(
            model_name='auditcheckpoint',
            name='algorithm',
            field=models.CharField(choices=[('hmac-sha256', 'HMAC-SHA256'), ('ed25519', 'Ed25519')], default='hmac-sha256', max_length=16),
        ),
        migrations.AddField(
            model_name='auditcheckpoint',
            name='prev_through_event_id',
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='auditcheckpoint',
            name='public_head',
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AlterField(
            model_name='auditcheckpoint',
            name='signature',
            field=models.CharField(max_length=128),
        ),
        migrations.RunSQL(
            sql="""
CREATE TRIGGER audit_auditanchor_no_update_delete
    BEFORE UPDATE OR DELETE ON audit_auditanchor
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_auditanchor_no_truncate
    BEFORE TRUNCATE ON audit_auditanchor
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
""",
            reverse_sql="""
DROP TRIGGER IF EXISTS audit_auditanchor_no_update_delete ON audit_auditanchor;
DROP TRIGGER IF EXISTS audit_auditanchor_no_truncate ON audit_auditanchor;
""",
        ),
    ]
