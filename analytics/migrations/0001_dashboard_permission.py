from django.contrib.auth.management import create_permissions
from django.db import migrations, models

# Managers and admins read the dashboards; agents work the queue of their own team and
# are not shown company-wide revenue figures.
READERS = ("collections manager", "admin")


def grant(apps, schema_editor):
    app_config = apps.get_app_config("analytics")
    app_config.models_module = True
    create_permissions(app_config, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permission = Permission.objects.get(
        content_type__app_label="analytics", codename="view_dashboards"
    )
    for name in READERS:
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(permission)


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("dunning", "0002_roles"),
    ]

    operations = [
        migrations.CreateModel(
            name="Dashboard",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False)),
            ],
            options={
                "managed": False,
                "default_permissions": (),
                "permissions": [
                    ("view_dashboards", "Can read the recovery dashboards and cohorts")
                ],
            },
        ),
        migrations.RunPython(grant, migrations.RunPython.noop),
    ]
