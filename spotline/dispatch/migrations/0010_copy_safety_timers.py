"""Responder safety timers move from check-ins to dispatch (the data; 0009 made the
tables). A migration of its own: on PostgreSQL, Django creates some indexes at the end
of a migration, which fails once rows were written in the same transaction."""

from django.core.management.color import no_style
from django.db import migrations


def copy_safety_timers(apps, schema_editor):
    """Safety timers were check-ins (purpose "safety", watching an incident). Copy each,
    with its id (a responder may answer "OK <id>" to a text already sent), and the
    pending deadline of a running one as a dispatch Timer; then delete the check-ins
    (their deadlines go with them), so nothing fires twice."""
    CheckIn = apps.get_model("checkins", "CheckIn")
    CheckInDeadline = apps.get_model("checkins", "CheckInDeadline")
    SafetyTimer = apps.get_model("dispatch", "SafetyTimer")
    Timer = apps.get_model("dispatch", "Timer")
    old = CheckIn.objects.filter(purpose="safety", watch_incident__isnull=False,
                                 responder__isnull=False)
    for c in old.iterator():
        timer = SafetyTimer.objects.create(
            id=c.pk, responder_id=c.responder_id, incident_id=c.watch_incident_id,
            state=c.state, generation=c.generation, minutes=c.minutes, next_at=c.next_at,
            backup_id=c.incident_id, created_at=c.created_at, updated_at=c.updated_at,
            escalated_at=c.escalated_at, ended_at=c.ended_at)
        for d in CheckInDeadline.objects.filter(checkin_id=c.pk, fired_at__isnull=True,
                                                generation=c.generation):
            Timer.objects.create(kind="safety", incident_id=c.watch_incident_id, safety=timer,
                                 round=d.generation, due_at=d.due_at)
    CheckIn.objects.filter(purpose="safety").delete()
    if schema_editor.connection.vendor == "postgresql":
        # Ids were given explicitly: move the sequence past them.
        with schema_editor.connection.cursor() as cursor:
            for sql in schema_editor.connection.ops.sequence_reset_sql(
                    no_style(), [SafetyTimer]):
                cursor.execute(sql)



class Migration(migrations.Migration):

    dependencies = [
        ('dispatch', '0009_safety_timers'),
        ('checkins', '0004_deadline_retries'),
    ]

    operations = [
        migrations.RunPython(copy_safety_timers, migrations.RunPython.noop),
    ]
