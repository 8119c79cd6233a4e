# Channel settings and people (role membership) as versioned settings: their permissions,
# granted to the roles (managers read the channel settings; admins change both and read the
# settings history).

from django.contrib.auth.management import create_permissions
from django.db import migrations

GRANTS = {
    "collections manager": ["view_channel_settings"],
    "admin": [
        "view_channel_settings",
        "change_channel_settings",
        "change_roles",
        "view_configversion",
    ],
}


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GRANTS.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label="dunning", codename__in=codenames)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("dunning", "0016_config_versions"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="configversion",
            options={
                "ordering": ["key", "-version"],
                "permissions": [
                    ("view_channel_settings", "Can see the channel settings"),
                    ("change_channel_settings", "Can change the channel settings"),
                    ("change_roles", "Can change who holds which role"),
                ],
            },
        ),
        migrations.RunPython(grant, migrations.RunPython.noop),
    ]
