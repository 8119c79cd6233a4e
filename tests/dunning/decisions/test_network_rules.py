"""The network rules a retry must obey, whatever a model would prefer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dunning.decisions.network_rules import Decline, Verdict, network_rules

FAILED = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def rules(brand="visa", code="51", mac="", category="soft_decline", attempts=()):
    return network_rules(
        decline=Decline(brand=brand, decline_code=code, advice_code=mac, error_category=category),
        failed_at=FAILED,
        attempts=list(attempts),
    )


@pytest.mark.parametrize("code", ["04", "07", "14", "41", "43", "57", "R1"])
def test_visa_category_1_codes_are_never_retried(code):
    result = rules(code=code)
    assert result.verdict == Verdict.NEVER
    assert "Visa category 1" in result.reason and "2026-04-18" in result.reason


@pytest.mark.parametrize("mac", ["03", "21"])
def test_mastercard_do_not_try_again_advice_is_obeyed(mac):
    assert rules(brand="mastercard", code="05", mac=mac).verdict == Verdict.NEVER


def test_the_same_category_1_code_on_mastercard_follows_mastercard_rules_not_visa():
    assert rules(brand="mastercard", code="43", mac="").verdict == Verdict.RETRY


def test_authentication_required_gets_a_link_never_an_off_session_retry():
    assert rules(code="1A", category="authentication_required").verdict == Verdict.AUTHENTICATE


@pytest.mark.parametrize(("brand", "code", "mac"), [("visa", "54", ""), ("mastercard", "54", "01")])
def test_expired_or_outdated_cards_wait_for_a_payment_method_update(brand, code, mac):
    assert rules(brand=brand, code=code, mac=mac).verdict == Verdict.UPDATE_PAYMENT_METHOD


@pytest.mark.parametrize(
    ("mac", "wait"),
    [("02", timedelta(hours=72)), ("24", timedelta(hours=1)), ("30", timedelta(days=10))],
)
def test_mastercard_advice_codes_set_the_earliest_retry(mac, wait):
    result = rules(brand="mastercard", code="51", mac=mac)
    assert (result.verdict, result.earliest) == (Verdict.RETRY, FAILED + wait)


def test_a_soft_decline_may_be_retried_at_once_when_nothing_restricts_it():
    result = rules()
    assert (result.verdict, result.earliest, result.fired) == (Verdict.RETRY, FAILED, [])


def test_visa_ceiling_of_20_reattempts_in_30_days_pushes_the_retry_out():
    # 20 declines in the last 10 days plus this one: 21 attempts, the ceiling for 20 reattempts.
    attempts = [FAILED - timedelta(hours=12 * i) for i in range(1, 21)]

    result = rules(attempts=attempts)

    oldest = min(attempts)
    assert result.verdict == Verdict.RETRY
    assert result.earliest == oldest + timedelta(days=30, seconds=1)
    assert "at most 20 reattempts in 30 days" in result.reason


def test_mastercard_ten_declines_in_24_hours_wait_for_the_window():
    attempts = [FAILED - timedelta(hours=2 * i) for i in range(1, 10)]  # 9 + this one = 10

    result = rules(brand="mastercard", code="51", attempts=attempts)

    assert result.earliest == min(attempts) + timedelta(hours=24, seconds=1)
    assert "10 declines in 24 h" in result.reason


def test_attempts_older_than_the_window_do_not_count():
    attempts = [FAILED - timedelta(days=31 + i) for i in range(30)]
    assert rules(attempts=attempts).earliest == FAILED
