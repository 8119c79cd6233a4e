"""The project's URLs plus ``bench/trivial/``: the same middleware stack, no work in the view."""

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from config.urls import urlpatterns as project_urlpatterns


@csrf_exempt
def trivial_view(request: HttpRequest) -> HttpResponse:
    request.read()  # consume the body, as the webhook does
    return HttpResponse("ok")


urlpatterns = [path("bench/trivial/", trivial_view), *project_urlpatterns]
