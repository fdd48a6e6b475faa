"""Each key's session is shown as a run (`RemoteSession`). It needs only the Run table, so it depends on
the runs migration that was the latest before remote runs, not on the one adding their columns."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('agents', '0001_agent_keys_activity_idempotency'),
        ('runs', '0003_run_retry_of_and_recoveries_as_columns'),
    ]

    operations = [
        migrations.CreateModel(
            name='RemoteSession',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('session', models.CharField(max_length=200)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('key', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='sessions', to='agents.agentkey')),
                ('run', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='remote_session', to='runs.run')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('key', 'session'), name='agents_one_run_per_session')],
            },
        ),
    ]
