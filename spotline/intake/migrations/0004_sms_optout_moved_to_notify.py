"""SmsOptOut moves to notify (the outbox obeys it): the table is renamed here, and the
model leaves intake's state; notify's 0004 takes it into its own without touching the
database."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('intake', '0003_sms_takeover'),
    ]

    operations = [
        migrations.AlterModelTable(name='smsoptout', table='notify_smsoptout'),
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name='SmsOptOut')],
        ),
    ]
