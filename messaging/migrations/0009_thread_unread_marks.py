"""The inbox marks kept on the thread: the patient's "new" mark (until when the thread
holds an unopened, unerased message from the care team) and the care team's unread count.
Computed here for existing threads; the services keep them from now on."""

from datetime import UTC, datetime

from django.conf import settings
from django.db import migrations, models
from django.db.models import Count, Max, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

UNREAD_FOREVER = datetime(9999, 12, 31, tzinfo=UTC)  # as messaging.models.UNREAD_FOREVER


def marks_compute(apps, schema_editor):
    Thread = apps.get_model("messaging", "Thread")
    Message = apps.get_model("messaging", "Message")
    unopened = (
        Message.objects.filter(
            thread=OuterRef("pk"),
            from_patient=False,
            state="sent",
            opened_at__isnull=True,
            data_key__destroyed_at__isnull=True,
        )
        .order_by()
        .values("thread")
        .annotate(until=Max(Coalesce("expires_at", Value(UNREAD_FOREVER))))
        .values("until")
    )
    unread = (
        Message.objects.filter(
            thread=OuterRef("pk"), from_patient=True, staff_read_at__isnull=True, state="sent"
        )
        .order_by()
        .values("thread")
        .annotate(count=Count("pk"))
        .values("count")
    )
    Thread.objects.update(
        patient_unread_until=Subquery(unopened),
        staff_unread=Coalesce(Subquery(unread), Value(0)),
    )


class Migration(migrations.Migration):

    dependencies = [
        ('encryption', '0001_initial'),
        ('messaging', '0008_content_categories'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='thread',
            name='patient_unread_until',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='thread',
            name='staff_unread',
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddIndex(
            model_name='thread',
            index=models.Index(condition=models.Q(('handled_at__isnull', True), ('last_message_at__isnull', False)), fields=['-staff_unread', '-last_message_at'], name='messaging_thread_open'),
        ),
        migrations.RunPython(marks_compute, migrations.RunPython.noop),
    ]
