from django.apps import AppConfig


class SandboxConfig(AppConfig):
    """Installed only for its management commands (``simulate``); it has no models."""

    name = "sandbox"
    label = "sandbox"
    verbose_name = "Chargebee sandbox"
