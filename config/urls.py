from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from analytics.views import home
from collections_desk.escalation_webhooks import zendesk_webhook
from dunning.actions.channels.provider_webhooks import anymail_webhook_urls, twilio_status
from dunning.enrichment.connectors.views import stripe_webhook
from dunning.sync.webhooks import chargebee_webhook

urlpatterns = [
    path("", home, name="home"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("webhooks/chargebee/", chargebee_webhook, name="chargebee_webhook"),
    path("webhooks/stripe/", stripe_webhook, name="stripe_webhook"),
    path("webhooks/zendesk/", zendesk_webhook, name="zendesk_webhook"),
    path("webhooks/twilio/status/", twilio_status, name="twilio_status"),
    # anymail's tracking views (/webhooks/anymail/postmark/tracking/, ...), guarded.
    path("webhooks/anymail/", include((anymail_webhook_urls(), "anymail"))),
    path("dunning/", include("dunning.urls")),
    path("collections/", include("collections_desk.urls")),
    path("analytics/", include("analytics.urls")),
    path("django-rq/", include("django_rq.urls")),
    path("admin/", admin.site.urls),
]
