"""The network rules a retry must obey, whatever a model would prefer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dunning.decisions.rules.network_rules import RULES, Decline, Verdict, network_rules

FAILED = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def rules(brand="visa", code="51", mac="", category="soft_decline", attempts=()):
    return network_rules(
        decline=Decline(brand=brand, decline_code=code, advice_code=mac, error_category=category),
        failed_at=FAILED,
        attempts=list(attempts),
    )


BRANDS = ["visa", "mastercard", "american_express", "discover", "jcb", "diners_club", "other", ""]
# Lost, stolen, pick-up, fraud, closed or revoked account, restricted card (issue 15).
NEVER_CODES = ["04", "07", "14", "15", "41", "43", "46", "57", "59", "62", "R0", "R1", "R3"]


@pytest.mark.parametrize("brand", BRANDS)
@pytest.mark.parametrize("code", NEVER_CODES)
def test_a_credential_that_will_never_work_is_never_retried_on_any_brand(brand, code):
    result = rules(brand=brand, code=code, mac="", category="soft_decline")

    assert result.verdict == Verdict.NEVER
    assert result.earliest is None
    assert f"(decline {code})" in result.fired[0]


@pytest.mark.parametrize("brand", BRANDS)
@pytest.mark.parametrize("mac", ["03", "21"])
def test_mastercard_do_not_try_again_advice_stops_every_brand(brand, mac):
    assert rules(brand=brand, code="05", mac=mac).verdict == Verdict.NEVER


@pytest.mark.parametrize("brand", BRANDS)
@pytest.mark.parametrize(
    "code",
    [
        "lost_card",
        "stolen_card",
        "pickup_card",
        "fraudulent",
        "restricted_card",
        "revocation_of_authorization",
        "stop_payment_order",
        "Stolen_Card",
    ],
)
def test_gateway_worded_declines_mean_the_same_as_the_network_codes(brand, code):
    assert rules(brand=brand, code=code).verdict == Verdict.NEVER


@pytest.mark.parametrize("brand", ["american_express", "discover", "jcb", "diners_club", ""])
@pytest.mark.parametrize("code", ["34", "36"])
def test_iso_fraud_and_restricted_pick_up_codes_stop_the_other_networks(brand, code):
    assert rules(brand=brand, code=code).verdict == Verdict.NEVER


@pytest.mark.parametrize("code", ["102", "104"])
def test_american_express_action_codes_for_fraud_and_restriction_are_never_retried(code):
    assert rules(brand="american_express", code=code).verdict == Verdict.NEVER


def test_chargebee_error_cause_for_a_fraudulent_account_stops_retries():
    result = network_rules(
        decline=Decline(
            brand="visa", decline_code="05", error_cause_id="gateway.fraud.account_fraud"
        ),
        failed_at=FAILED,
        attempts=[],
    )
    assert result.verdict == Verdict.NEVER
    assert "flagged for fraudulent use" in result.reason


def test_a_do_not_try_again_recommendation_from_the_gateway_stops_retries():
    decline = Decline(brand="discover", decline_code="05", recommendation_code="do_not_try_again")
    assert network_rules(decline=decline, failed_at=FAILED, attempts=[]).verdict == Verdict.NEVER


def test_the_sentence_people_read_is_plain_and_each_sentence_has_its_source():
    result = rules(brand="mastercard", code="43", mac="03")

    assert result.fired == [
        "the card was reported stolen (decline 43)",
        "the issuer said not to try this card again (advice code 03)",
    ]
    assert len(result.sources) == len(result.fired)
    assert "Visa Core Rules, 18 Apr 2026" in result.sources[0]
    assert "Mastercard Merchant Advice Codes" in result.sources[1]
    assert not any("peers.md" in s or "[N" in s for s in result.fired)


def test_every_rule_in_the_table_names_its_source_and_says_its_meaning_plainly():
    for rule in RULES:
        assert rule.source and rule.meaning
        assert "peers.md" not in rule.sentence and "[" not in rule.sentence


def test_a_visa_only_code_does_not_stop_another_known_brand():
    assert rules(brand="visa", code="12").verdict == Verdict.NEVER
    assert rules(brand="discover", code="12").verdict == Verdict.RETRY
    assert rules(brand="", code="12").verdict == Verdict.NEVER  # unknown: every rule applies


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
    assert "Visa Core Rules, 18 Apr 2026 edition" in result.sources[-1]


def test_mastercard_ten_declines_in_24_hours_wait_for_the_window():
    attempts = [FAILED - timedelta(hours=2 * i) for i in range(1, 10)]  # 9 + this one = 10

    result = rules(brand="mastercard", code="51", attempts=attempts)

    assert result.earliest == min(attempts) + timedelta(hours=24, seconds=1)
    assert "10 declines in 24 h" in result.reason


def test_attempts_older_than_the_window_do_not_count():
    attempts = [FAILED - timedelta(days=31 + i) for i in range(30)]
    assert rules(attempts=attempts).earliest == FAILED


def test_an_unknown_brand_obeys_the_strictest_ceilings_of_visa_and_mastercard():
    attempts = [FAILED - timedelta(hours=2 * i) for i in range(1, 10)]  # 9 + this one = 10

    result = rules(brand="", code="51", attempts=attempts)

    assert result.earliest == min(attempts) + timedelta(hours=24, seconds=1)
    assert "Mastercard allows at most 10 declines in 24 h" in result.reason


def test_a_brand_without_a_documented_ceiling_is_not_held_by_visa_or_mastercard_ones():
    attempts = [FAILED - timedelta(hours=2 * i) for i in range(1, 10)]
    assert rules(brand="american_express", code="51", attempts=attempts).earliest == FAILED


def test_mastercard_waits_apply_to_maestro_cards_too():
    assert rules(brand="maestro", code="51", mac="25").earliest == FAILED + timedelta(hours=24)


def test_a_never_code_outranks_an_issuer_wait():
    assert rules(brand="mastercard", code="43", mac="24").verdict == Verdict.NEVER
