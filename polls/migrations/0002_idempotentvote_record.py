from django.db import migrations, models


def forget_stored_bodies(apps, schema_editor):
    # Rows from before this migration hold a response body, not an outcome record, and
    # cannot be replayed as one; they only guard retries of votes already answered.
    apps.get_model("polls", "IdempotentVote").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("polls", "0001_initial")]

    operations = [
        migrations.RunPython(forget_stored_bodies, migrations.RunPython.noop),
        migrations.RenameField(model_name="idempotentvote", old_name="body", new_name="record"),
        migrations.AlterField(
            model_name="idempotentvote",
            name="record",
            field=models.JSONField(help_text="The outcome as VoteOutcome.as_record() stores it."),
        ),
    ]
