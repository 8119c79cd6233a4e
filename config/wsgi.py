import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

from dunning.helpers.heap import startup_heap_freeze

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()
# Every view imported now rather than on a worker's first request, so that what they load is
# frozen with the rest of start-up.
get_resolver().url_patterns  # noqa: B018
startup_heap_freeze()
