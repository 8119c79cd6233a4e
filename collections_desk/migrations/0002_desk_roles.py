from django.contrib.auth.management import create_permissions
from django.db import migrations

AGENT = ["view_case", "add_casenote", "view_team"]
MANAGER = [*AGENT, "work_all_cases", "assign_case"]
GRANTS = {
    "collections agent": AGENT,
    "collections manager": MANAGER,
    "admin": [*MANAGER, "add_team", "change_team", "view_escalationticket"],
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
            *Permission.objects.filter(
                content_type__app_label="collections_desk", codename__in=codenames
            )
        )


class Migration(migrations.Migration):
    dependencies = [
        ("collections_desk", "0001_initial"),
        ("dunning", "0009_decision_roles_and_first_guardrails"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
