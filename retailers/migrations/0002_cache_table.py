"""The database cache's table (API throttling, sign-in link limits, the receipt's once-mark)
made by `migrate` itself, so that every way of setting up a database has it."""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    # Idempotent, and a no-op when CACHE_URL points at Redis.
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("retailers", "0001_initial")]

    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop)]
