from django.apps import AppConfig


class DunningConfig(AppConfig):
    name = "dunning"
    label = "dunning"
    verbose_name = "Dunning"

    def ready(self) -> None:
        from anymail.signals import tracking

        from dunning import checks  # noqa: F401 - registers the start-up checks
        from dunning.actions.channels.provider_webhooks import email_tracking_received

        tracking.connect(email_tracking_received, dispatch_uid="dunwell-email-tracking")
