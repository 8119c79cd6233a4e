from django.urls import path

from analytics import rollout_views
from collections_desk import invoice_views
from collections_desk import manual_collection_views as execution_views
from dunning.actions.channels import views as channel_views
from dunning.actions.offline import views as offline_views
from dunning.decisions import views as decision_views
from dunning.enrichment.connectors import views as connector_views
from dunning.operations import event_log_views as views
from dunning.operations import exchange_rate_views, settings_views
from dunning.sync import connect_views

app_name = "dunning"

urlpatterns = [
    path("events/", views.event_list, name="event_list"),
    path("events/<int:pk>/", views.event_detail, name="event_detail"),
    path("events/<int:pk>/reprocess/", views.event_reprocess_view, name="event_reprocess"),
    path("audit/", views.audit_list, name="audit_list"),
    path("status/", views.system_status, name="system_status"),
    path("guardrails/", decision_views.guardrails, name="guardrails"),
    path(
        "guardrails/<int:version>/rollback/",
        decision_views.guardrails_rollback_view,
        name="guardrails_rollback",
    ),
    path("rollout/", rollout_views.rollout_page, name="rollout"),
    path("decisions/", decision_views.decision_list, name="decision_list"),
    path("offline-reminders/", offline_views.offline_reminders, name="offline_reminders"),
    path(
        "offline-reminders/<int:version>/rollback/",
        offline_views.offline_reminders_rollback,
        name="offline_reminders_rollback",
    ),
    path("outbox/", channel_views.outbox, name="outbox"),
    path("prompts/", channel_views.prompt_templates, name="prompt_templates"),
    path("settings/channels/", settings_views.channel_settings, name="channel_settings"),
    path(
        "settings/channels/<int:version>/rollback/",
        settings_views.channel_settings_rollback,
        name="channel_settings_rollback",
    ),
    path("settings/people/", settings_views.people, name="people"),
    path(
        "settings/people/<int:version>/rollback/",
        settings_views.people_rollback_view,
        name="people_rollback",
    ),
    path("settings/exchange-rates/", exchange_rate_views.exchange_rates, name="exchange_rates"),
    path(
        "settings/exchange-rates/<int:version>/rollback/",
        exchange_rate_views.exchange_rates_rollback,
        name="exchange_rates_rollback",
    ),
    path("settings/history/", settings_views.settings_history, name="settings_history"),
    path("settings/chargebee/", connect_views.chargebee_connection, name="chargebee_connection"),
    path("settings/connections/", connector_views.connections, name="connections"),
    path(
        "settings/connections/<int:version>/rollback/",
        connector_views.connections_rollback,
        name="connections_rollback",
    ),
    path(
        "settings/connections/<str:connector>/test/",
        connector_views.connection_test,
        name="connection_test",
    ),
    path(
        "invoices/<str:cb_id>/decisions/",
        invoice_views.invoice_decisions,
        name="invoice_decisions",
    ),
    path(
        "invoices/<str:cb_id>/collect/<str:what>/",
        execution_views.invoice_collect,
        name="invoice_collect",
    ),
]
