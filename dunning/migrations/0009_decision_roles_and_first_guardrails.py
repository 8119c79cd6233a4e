from django.contrib.auth.management import create_permissions
from django.db import migrations

GRANTS = {
    "collections agent": ["view_decision", "view_action", "approve_action"],
    "collections manager": [
        "view_decision",
        "view_action",
        "approve_action",
        "approve_high_risk_action",
        "view_guardrailpolicy",
        "view_gatewaypause",
    ],
    "admin": [
        "view_decision",
        "view_action",
        "approve_action",
        "approve_high_risk_action",
        "view_guardrailpolicy",
        "change_guardrails",
        "view_gatewaypause",
        "view_modelversion",
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
    GuardrailPolicy = apps.get_model("dunning", "GuardrailPolicy")
    if not GuardrailPolicy.objects.exists():
        # A new installation watches before it acts: every segment starts in shadow mode.
        GuardrailPolicy.objects.create(
            version=1, active=True, default_mode="shadow", note="initial guardrails: shadow mode"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("dunning", "0008_decisions_actions_guardrails_signals"),
        ("dunning", "0005_admin_reads_audit"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
