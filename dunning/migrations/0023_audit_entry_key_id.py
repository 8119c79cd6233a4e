"""Audit entries name the key that hashed them; the entries written before keys are
``sha256`` (plain SHA-256, verified as before). Adding a column with a default rewrites no
row, so the append-only triggers are not involved."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("dunning", "0022_rejected_webhook_whole_body_and_length")]

    operations = [
        migrations.AddField(
            model_name="auditentry",
            name="key_id",
            field=models.CharField(default="sha256", max_length=20),
            preserve_default=False,
        ),
    ]
