"""Remote agents' sessions as runs: `origin`, the agent's key name, actor and session, `started_by`
optional (a remote session may answer to nobody), and `cancelled_by` (a cancelled session names who
cancelled it when it refuses its agent's later calls). Existing runs are dashboard runs."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('runs', '0004_run_call_counts'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='run',
            name='actor',
            field=models.CharField(blank=True, help_text='Remote runs: the actor the agent acts as.', max_length=150),
        ),
        migrations.AddField(
            model_name='run',
            name='agent',
            field=models.CharField(blank=True, help_text="Remote runs: the name of the agent's API key.", max_length=100),
        ),
        migrations.AddField(
            model_name='run',
            name='cancelled_by',
            field=models.ForeignKey(blank=True, help_text="Who cancelled the run; a cancelled remote session refuses its agent's later calls naming them.", null=True, on_delete=django.db.models.deletion.PROTECT, related_name='runs_cancelled', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='run',
            name='origin',
            field=models.CharField(choices=[('dashboard', 'Dashboard'), ('remote', 'Remote agent')], db_index=True, default='dashboard', help_text='dashboard: started here and driven by a worker; remote: one session of an agent that runs elsewhere, whose decisions the API made.', max_length=10),
        ),
        migrations.AddField(
            model_name='run',
            name='session',
            field=models.CharField(blank=True, help_text="Remote runs: the session (context.session_id, else trajectory_id, else the key's day).", max_length=200),
        ),
        migrations.AlterField(
            model_name='run',
            name='started_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='runs', to=settings.AUTH_USER_MODEL),
        ),
    ]
