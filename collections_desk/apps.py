from django.apps import AppConfig


class CollectionsDeskConfig(AppConfig):
    # Not "collections": that name is the standard library's and can never be imported.
    name = "collections_desk"
    label = "collections_desk"
    verbose_name = "Collections desk"
