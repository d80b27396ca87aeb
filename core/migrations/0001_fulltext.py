"""The full-text index (core/fulltext.py): FTS5 on SQLite, tsvector + GIN on PostgreSQL."""

from django.db import migrations

from core import fulltext


def create(apps, schema_editor):
    fulltext.create_schema(schema_editor)


def drop(apps, schema_editor):
    fulltext.drop_schema(schema_editor)


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [migrations.RunPython(create, drop)]
