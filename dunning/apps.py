from django.apps import AppConfig


class DunningConfig(AppConfig):
    name = "dunning"
    label = "dunning"
    verbose_name = "Dunning"
