"""Every resolution names what caused it: `reviewer` becomes `resolved_by` (the reviewer, or whoever
cancelled the run) and `cause` says whether a reviewer, expiry, a cancel or a failed run resolved it.

Existing rows are read once: a reviewer's rows are "review", expired ones "expiry"; denials without a
reviewer were written by a cancel ("run cancelled by <name>") or a failed run ("the run failed: ...").
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

CANCELLED_BY = "run cancelled by "  # the comment a cancel's denial carried until now


def causes_from_rows(apps, schema_editor):
    ApprovalRequest = apps.get_model("approvals", "ApprovalRequest")
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    ApprovalRequest.objects.filter(status__in=["approved", "denied"], resolved_by__isnull=False).update(cause="review")
    ApprovalRequest.objects.filter(status="expired").update(cause="expiry")
    ApprovalRequest.objects.filter(status="denied", resolved_by__isnull=True, comment__startswith="the run failed"
                                   ).update(cause="run_failed")
    cancelled = ApprovalRequest.objects.filter(status="denied", resolved_by__isnull=True,
                                               comment__startswith=CANCELLED_BY)
    for approval in cancelled.iterator():
        name = approval.comment[len(CANCELLED_BY):]
        approval.cause = "run_cancelled"
        approval.resolved_by = User.objects.filter(username=name).first()
        approval.save(update_fields=["cause", "resolved_by"])


class Migration(migrations.Migration):

    dependencies = [
        ("approvals", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RenameField(model_name="approvalrequest", old_name="reviewer", new_name="resolved_by"),
        migrations.AlterField(
            model_name="approvalrequest",
            name="resolved_by",
            field=models.ForeignKey(blank=True, help_text="The person who resolved it: the reviewer, or whoever cancelled the run. Empty for expiry and for a run that failed.", null=True, on_delete=django.db.models.deletion.PROTECT, related_name="approvals_resolved", to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name="approvalrequest",
            name="cause",
            field=models.CharField(blank=True, choices=[("review", "A reviewer decided"), ("expiry", "Nobody decided in time"), ("run_cancelled", "Its run was cancelled"), ("run_failed", "Its run failed")], help_text="What resolved it; empty while pending.", max_length=16),
        ),
        migrations.RunPython(causes_from_rows, migrations.RunPython.noop),
    ]
