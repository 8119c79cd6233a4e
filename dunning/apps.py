from django.apps import AppConfig


class DunningConfig(AppConfig):
    name = "dunning"
    label = "dunning"
    verbose_name = "Dunning"

    def ready(self) -> None:
        from dunning import checks  # noqa: F401 - registers the start-up checks
