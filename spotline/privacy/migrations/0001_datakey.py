from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name='DataKey',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kid', models.CharField(max_length=24, unique=True)),
                ('wrapped', models.TextField(blank=True)),
                ('created_at', models.DateTimeField()),
                ('destroyed_at', models.DateTimeField(blank=True, db_index=True, null=True)),
            ],
        ),
    ]
