from django.urls import path

from analytics import dashboard_views, forecast_views

app_name = "analytics"

urlpatterns = [
    path("recovery/", dashboard_views.recovery, name="recovery"),
    path("cohorts/", dashboard_views.cohorts, name="cohorts"),
    path("forecast/", forecast_views.forecast, name="forecast"),
    path("plotly.css", dashboard_views.plotly_css, name="plotly_css"),
]
