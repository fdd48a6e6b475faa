"""The watermark's one row, at 0: the first fold (catch_up_insights, beat, or a page) starts from there."""

from django.db import migrations


def create(apps, schema_editor):
    apps.get_model("insights", "Watermark").objects.get_or_create(pk=1, defaults={"seq": 0})


class Migration(migrations.Migration):
    dependencies = [("insights", "0001_rollups")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
