from django.urls import path

from dunning import views

app_name = "dunning"

urlpatterns = [
    path("events/", views.event_list, name="event_list"),
    path("events/<int:pk>/", views.event_detail, name="event_detail"),
    path("events/<int:pk>/reprocess/", views.event_reprocess_view, name="event_reprocess"),
    path("audit/", views.audit_list, name="audit_list"),
    path("status/", views.system_status, name="system_status"),
]
