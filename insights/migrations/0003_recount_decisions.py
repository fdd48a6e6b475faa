"""Recount the rollups from the first audit record: decisions are now one per call the policies decided.

Until now every `decision` or `execution` record with a decision counted, so an approved call counted twice
(requires approval, then allowed) and a denial, an expiry or a tool's failure counted as decisions of their
own (insights/rollup.py says what counts now). This empties the rollups and puts the watermark back to 0:
beat's next `insights.catch_up` refolds the whole history (about 20,000 records/s on PostgreSQL), and until
it is done the page says how many records it has not counted yet. Run `python manage.py catch_up_insights`
right after migrating to refold at once.
"""

from django.db import migrations


def recount(apps, schema_editor):
    apps.get_model("insights", "DayCount").objects.all().delete()
    apps.get_model("insights", "Resolution").objects.all().delete()
    apps.get_model("insights", "Watermark").objects.update_or_create(pk=1, defaults={"seq": 0})


class Migration(migrations.Migration):
    dependencies = [("insights", "0002_watermark_row")]
    operations = [migrations.RunPython(recount, recount)]
