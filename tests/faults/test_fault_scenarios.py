"""Each fault, injected for real into the real parts: nothing lost, nothing charged twice,
no 5xx for bad input, and the recovery each fault calls for. The same scenarios run bigger
in bench/faults.py, which prints the table."""

from __future__ import annotations

import pytest

from tests.faults.scenarios import (
    Env,
    Row,
    audit_tampering,
    chargebee_storm,
    database_down_at_ingest,
    duplicate_deliveries,
    fuzzed_webhooks,
    hostile_json,
    out_of_order_events,
    partial_mirroring,
    prompt_injection,
    redis_down_at_ingest,
    redis_down_during_processing,
    redis_down_under_the_schedule,
    site_connect_mistakes,
    team_scoping,
    worker_sigkill_mid_charge,
    writes_within_chargebee_limits,
)

# Commits must be real: jobs are enqueued on commit, and other threads and a killed
# process read what was committed.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def env(sandbox, sandbox_server):
    return Env(server=sandbox_server)


def assert_held(row: Row) -> None:
    assert all(count in (0, None) for count in row.counts), row.happened
    assert not any(row.other_zeros.values()), (row.other_zeros, row.happened)
    assert row.behaved, row.happened


def test_chargebee_delivering_one_event_many_times_at_once_charges_once(env):
    assert_held(duplicate_deliveries(env))


def test_a_payment_arriving_before_its_decline_leaves_the_invoice_paid_and_untouched(env):
    assert_held(out_of_order_events(env))


def test_webhooks_arriving_while_redis_is_down_are_kept_and_processed_later(env):
    assert_held(redis_down_at_ingest(env))


def test_jobs_lost_with_redis_mid_processing_are_relayed_and_run_once(env):
    assert_held(redis_down_during_processing(env))


def test_the_schedule_survives_a_redis_outage_and_the_relays_resume_with_no_one_restarting_it(
    env,
):
    assert_held(redis_down_under_the_schedule(env))


def test_chargebee_is_told_to_deliver_again_while_the_database_is_down(env):
    assert_held(database_down_at_ingest(env))


def test_a_worker_killed_mid_charge_is_recovered_without_charging_twice(env):
    assert_held(worker_sigkill_mid_charge(env))


def test_a_chargebee_rate_limit_and_error_storm_delays_but_never_double_charges(env):
    assert_held(chargebee_storm(env))


def test_fuzzed_webhook_bodies_never_get_a_server_error(env):
    assert_held(fuzzed_webhooks(env))


def test_a_ticket_telling_the_model_to_refund_or_leak_changes_nothing(env):
    assert_held(prompt_injection(env))


def test_legacy_shapes_and_an_unreadable_object_lose_nothing_that_can_be_read(env):
    assert_held(partial_mirroring(env))


def test_notes_too_long_are_cut_and_refused_writes_show_on_their_action(env):
    assert_held(writes_within_chargebee_limits(env))


def test_connecting_with_a_wrong_key_or_site_is_named_and_the_webhook_is_registered_once(env):
    assert_held(site_connect_mistakes(env))


def test_json_no_database_holds_and_lengths_no_column_holds_get_a_4xx_and_are_kept(env):
    assert_held(hostile_json(env))


def test_every_rewrite_of_the_audit_trail_by_its_databases_superuser_is_reported(env):
    assert_held(audit_tampering(env))


def test_an_agent_asking_for_another_teams_customers_gets_404_and_lists_without_them(env):
    assert_held(team_scoping(env))
