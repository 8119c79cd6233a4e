from django.contrib.auth.management import create_permissions
from django.db import migrations


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permission = Permission.objects.get(
        content_type__app_label="dunning", codename="view_auditentry"
    )
    group, _ = Group.objects.get_or_create(name="admin")
    group.permissions.add(permission)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permission = Permission.objects.filter(codename="view_auditentry").first()
    if permission:
        for group in Group.objects.filter(name="admin"):
            group.permissions.remove(permission)


class Migration(migrations.Migration):
    dependencies = [("dunning", "0004_audit_append_only"), ("dunning", "0002_roles")]

    operations = [migrations.RunPython(grant, revoke)]
