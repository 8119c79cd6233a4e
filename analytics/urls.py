from django.urls import path

from analytics import (
    at_risk_views,
    dashboard_views,
    experiment_views,
    forecast_views,
    impact_views,
)

app_name = "analytics"

urlpatterns = [
    path("recovery/", dashboard_views.recovery, name="recovery"),
    path("recovery/invoices/", dashboard_views.recovery_invoices, name="recovery_invoices"),
    path("cohorts/", dashboard_views.cohorts, name="cohorts"),
    path("experiments/", experiment_views.experiment_list, name="experiments"),
    path("experiments/<int:pk>/", experiment_views.experiment_detail, name="experiment"),
    path(
        "experiments/<int:pk>/<slug:step>/",
        experiment_views.experiment_step,
        name="experiment_step",
    ),
    path("impact/", impact_views.impact, name="impact"),
    path("at-risk/", at_risk_views.at_risk, name="at_risk"),
    path("at-risk/campaigns/new/", at_risk_views.campaign_new, name="campaign_new"),
    path("at-risk/campaigns/<int:pk>/", at_risk_views.campaign_detail, name="campaign"),
    path("forecast/", forecast_views.forecast, name="forecast"),
    path("plotly.css", dashboard_views.plotly_css, name="plotly_css"),
]
