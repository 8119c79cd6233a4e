from django.urls import path

from analytics import dashboard_views, impact_views

app_name = "analytics"

urlpatterns = [
    path("recovery/", dashboard_views.recovery, name="recovery"),
    path("cohorts/", dashboard_views.cohorts, name="cohorts"),
    path("impact/", impact_views.impact, name="impact"),
    path("plotly.css", dashboard_views.plotly_css, name="plotly_css"),
]
