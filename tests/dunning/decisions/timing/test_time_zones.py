"""A customer's time zone from the billing address: every country, and the state where it matters."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from babel import Locale

from dunning.decisions.enrichment import time_zone_of
from dunning.decisions.timing.time_zone_regions import REGION_ZONES
from dunning.decisions.timing.time_zones import (
    CustomerTimeZone,
    ZoneSource,
    country_time_zones,
    customer_time_zone,
)

# Codes in CLDR's territory list that name no place with a clock of its own: regions and
# groupings (EU, UN, ZZ...), CLDR-only sub-territories, uninhabited islands, and countries
# whose zones differ with no state table and no majority zone to assume.
EXPECTED_UNKNOWN = {
    "AC",
    "AQ",
    "BV",
    "CD",
    "CP",
    "CQ",
    "DG",
    "EA",
    "EU",
    "EZ",
    "FM",
    "HM",
    "IC",
    "KI",
    "PF",
    "QO",
    "TA",
    "UM",
    "UN",
    "XA",
    "XB",
    "ZZ",
}


@pytest.mark.parametrize(
    ("address", "zone"),
    [
        ({"country": "US", "state_code": "CA"}, "America/Los_Angeles"),
        ({"country": "US", "state_code": "NY"}, "America/New_York"),
        ({"country": "US", "state": "California"}, "America/Los_Angeles"),
        ({"country": "us", "state_code": "US-AZ"}, "America/Phoenix"),
        ({"country": "CA", "state_code": "BC"}, "America/Vancouver"),
        ({"country": "CA", "state": "Québec"}, "America/Toronto"),
        ({"country": "AU", "state_code": "WA"}, "Australia/Perth"),
        ({"country": "BR", "state": "Amazonas"}, "America/Manaus"),
        ({"country": "MX", "state_code": "BCN"}, "America/Tijuana"),
        ({"country": "RU", "state_code": "PRI"}, "Asia/Vladivostok"),
        ({"country": "ID", "state_code": "BA"}, "Asia/Makassar"),
    ],
)
def test_the_billing_state_places_a_customer_in_a_country_with_several_zones(address, zone):
    assert customer_time_zone(**address) == CustomerTimeZone(zone, ZoneSource.STATE)


@pytest.mark.parametrize(
    ("country", "postcode", "zone"),
    [
        ("US", "94105", "America/Los_Angeles"),
        ("US", "10001-4356", "America/New_York"),
        ("US", "60601", "America/Chicago"),
        ("CA", "T2P 1J9", "America/Edmonton"),
        ("AU", "6000", "Australia/Perth"),
    ],
)
def test_without_a_state_the_postcode_names_it(country, postcode, zone):
    found = customer_time_zone(country=country, zip=postcode)
    assert found == CustomerTimeZone(zone, ZoneSource.POSTAL_CODE)


@pytest.mark.parametrize(
    ("country", "zone"),
    [
        ("FI", "Europe/Helsinki"),
        ("PK", "Asia/Karachi"),
        ("DE", "Europe/Berlin"),
        ("IN", "Asia/Kolkata"),
        ("NG", "Africa/Lagos"),
        ("AR", "America/Argentina/Buenos_Aires"),
    ],
)
def test_a_country_on_one_time_is_known_from_the_country(country, zone):
    assert customer_time_zone(country=country) == CustomerTimeZone(zone, ZoneSource.COUNTRY)


def test_a_country_with_several_zones_and_no_state_is_a_stated_guess_not_a_fact():
    found = customer_time_zone(country="US")

    assert found.known_by == ZoneSource.COUNTRY_GUESS
    assert found.described() == "America/Chicago, assumed from the billing country (no state given)"


@pytest.mark.parametrize("country", ["", "ZZ", "EU", "CD"])
def test_what_cannot_be_placed_is_unknown_never_utc(country):
    found = customer_time_zone(country=country)

    assert found == CustomerTimeZone("", ZoneSource.UNKNOWN)
    assert not found.known and found.described() == "time zone unknown"


def test_every_country_code_in_cldr_resolves_to_a_real_zone_or_is_explicitly_unknown():
    codes = [code for code in Locale("en").territories if len(code) == 2 and code.isalpha()]
    unknown = set()
    for code in codes:
        found = customer_time_zone(country=code)
        if found.known:
            ZoneInfo(found.zone)  # a real IANA zone
            assert (
                found.zone in country_time_zones(code) or found.known_by == ZoneSource.COUNTRY_GUESS
            )
        else:
            assert found.known_by == ZoneSource.UNKNOWN
            unknown.add(code)

    assert len(codes) > 240
    assert unknown == EXPECTED_UNKNOWN


def test_every_state_table_entry_names_a_real_zone_of_its_country():
    for country, zones in REGION_ZONES.items():
        for zone, entries in zones.items():
            ZoneInfo(zone)
            # US territories (PR, GU, ...) are countries of their own in ISO 3166-1.
            owners = [country, *(entry.split(" ", 1)[0] for entry in entries)]
            assert any(zone in country_time_zones(owner) for owner in owners), (country, zone)


def test_the_country_only_helper_keeps_working_for_existing_callers():
    assert time_zone_of("FI") == "Europe/Helsinki"
    assert time_zone_of("US") == "America/Chicago"
    assert time_zone_of("") == "UTC"  # the caller's fallback, as before
