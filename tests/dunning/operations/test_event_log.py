"""The event log page: admins only; filter, read, reprocess."""

from __future__ import annotations

import pytest
from django.urls import reverse

from dunning.models import ChargebeeEvent, EventState, Invoice
from dunning.sync.ingest import event_store
from tests.conftest import load_sample

pytestmark = pytest.mark.django_db


@pytest.fixture
def events():
    failed = event_store(payload=load_sample("payment_failed")).event
    updated = event_store(payload=load_sample("invoice_updated")).event
    return failed, updated


def test_admin_sees_the_event_log_with_every_event(client, admin_user, events):
    client.force_login(admin_user)

    response = client.get(reverse("dunning:event_list"))

    assert response.status_code == 200
    body = response.content.decode()
    assert "ev_3Nl7oGgQqGG8UK4s" in body and "ev_16BgNRSDmSfQB2sPm" in body


@pytest.mark.parametrize("persona", ["agent", "manager"])
def test_agents_and_managers_cannot_open_the_event_log(client, persona, request, events):
    client.force_login(request.getfixturevalue(persona))

    assert client.get(reverse("dunning:event_list")).status_code == 403
    assert client.get(reverse("dunning:event_detail", args=[events[0].pk])).status_code == 403
    assert client.post(reverse("dunning:event_reprocess", args=[events[0].pk])).status_code == 403


def test_anonymous_visitor_is_sent_to_log_in(client, events):
    response = client.get(reverse("dunning:event_list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_event_log_filters_by_type_and_state(client, admin_user, events):
    client.force_login(admin_user)

    body = client.get(
        reverse("dunning:event_list"), {"event_type": "invoice_updated", "state": "received"}
    ).content.decode()

    assert "ev_16BgNRSDmSfQB2sPm" in body
    assert "ev_3Nl7oGgQqGG8UK4s" not in body


def test_event_log_filters_by_date(client, admin_user, events):
    client.force_login(admin_user)

    body = client.get(
        reverse("dunning:event_list"), {"occurred_from": "2020-01-01"}
    ).content.decode()

    assert "ev_16BgNRSDmSfQB2sPm" in body  # 2020
    assert "ev_3Nl7oGgQqGG8UK4s" not in body  # 2013


def test_event_log_finds_events_by_the_start_of_their_id(client, admin_user, events):
    client.force_login(admin_user)

    body = client.get(reverse("dunning:event_list"), {"q": "ev_3Nl7"}).content.decode()

    assert "ev_3Nl7oGgQqGG8UK4s" in body
    assert "ev_16BgNRSDmSfQB2sPm" not in body


def test_htmx_filter_request_gets_only_the_table(client, admin_user, events):
    client.force_login(admin_user)

    response = client.get(
        reverse("dunning:event_list"), {"state": "received"}, HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 200
    assert "<html" not in response.content.decode()
    assert '<table class="events' in response.content.decode()
    assert "HX-Request" in response["Vary"]


def test_bad_date_range_is_refused_with_its_reason_over_every_event(client, admin_user, events):
    client.force_login(admin_user)

    response = client.get(
        reverse("dunning:event_list"), {"occurred_from": "2024-02-01", "occurred_to": "2024-01-01"}
    )

    assert response.status_code == 400
    assert "start date is after the end date" in response.content.decode()
    assert all(event.event_id in response.content.decode() for event in events)


def test_event_detail_shows_the_raw_payload_and_error(client, admin_user, events):
    ChargebeeEvent.objects.filter(pk=events[0].pk).update(
        state=EventState.FAILED, last_error="content.invoice.customer_id is missing"
    )
    client.force_login(admin_user)

    body = client.get(reverse("dunning:event_detail", args=[events[0].pk])).content.decode()

    assert "content.invoice.customer_id is missing" in body
    assert "txn_3Nl7oGgQqGG8Pp4m" in body
    assert "Reprocess this event" in body


def test_admin_reprocesses_one_event(client, admin_user, events):
    client.force_login(admin_user)

    response = client.post(reverse("dunning:event_reprocess", args=[events[0].pk]), follow=True)

    assert "reprocessed: processed" in response.content.decode()
    assert Invoice.objects.get(cb_id="6").dunning_status == "in_progress"


def test_reprocess_needs_post(client, admin_user, events):
    client.force_login(admin_user)
    assert client.get(reverse("dunning:event_reprocess", args=[events[0].pk])).status_code == 405


def test_unknown_event_is_a_404(client, admin_user):
    client.force_login(admin_user)
    assert client.get(reverse("dunning:event_detail", args=[999999])).status_code == 404


def test_admin_sees_queues_and_the_chargebee_budget(client, admin_user, settings):
    settings.CHARGEBEE_REQUESTS_PER_MINUTE = 150
    client.force_login(admin_user)

    body = client.get(reverse("dunning:system_status")).content.decode()

    assert "150 / 150" in body
    assert "Ingest: 0 waiting" in body


def test_status_page_says_so_when_redis_is_down(client, admin_user, redis_outage):
    client.force_login(admin_user)

    response = client.get(reverse("dunning:system_status"))

    assert response.status_code == 200
    assert "Redis is unreachable" in response.content.decode()


def test_agent_cannot_open_the_status_page(client, agent):
    client.force_login(agent)
    assert client.get(reverse("dunning:system_status")).status_code == 403


def test_a_bad_filter_is_explained_with_the_label_the_admin_sees(client, admin_user, events):
    client.force_login(admin_user)

    response = client.get(reverse("dunning:event_list"), {"state": "bogus"})

    assert response.status_code == 400
    assert "State: Select a valid choice." in response.content.decode()


def test_the_pager_counts_one_event_in_the_singular_and_more_in_the_plural(
    client, admin_user, events
):
    client.force_login(admin_user)

    one = client.get(reverse("dunning:event_list"), {"q": "ev_3Nl7"}).content.decode()
    both = client.get(reverse("dunning:event_list")).content.decode()

    assert "· 1 event</span>" in one
    assert "· 2 events</span>" in both
