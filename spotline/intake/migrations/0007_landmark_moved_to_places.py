"""Landmark moves to places (geocoding searches it; places sits below intake): the
model leaves intake's state, and its table, intake_landmark, stays where it is for
places 0001 to take over."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('intake', '0006_form_submission'),
        ('places', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name='Landmark')],
        ),
    ]
