from django.db import migrations, models


def untouched_defaults_to_four(apps, schema_editor):
    """A site still on the first guardrails (nobody chose 8) gets the new default budget."""
    GuardrailPolicy = apps.get_model("dunning", "GuardrailPolicy")
    if GuardrailPolicy.objects.count() == 1:
        GuardrailPolicy.objects.filter(version=1, max_retries=8, created_by=None).update(
            max_retries=4
        )


class Migration(migrations.Migration):
    dependencies = [
        ("dunning", "0028_chargebee_connection"),
    ]

    operations = [
        migrations.AlterField(
            model_name="guardrailpolicy",
            name="max_retries",
            field=models.PositiveSmallIntegerField(default=4),
        ),
        migrations.RunPython(untouched_defaults_to_four, migrations.RunPython.noop),
    ]
