"""A customer's time zone, from their billing address.

Chargebee keeps no time zone for a customer, only a billing address. The country's zones
come from CLDR (``babel``'s ``territory_zones``), so every ISO 3166 country Chargebee
accepts is covered; where a country keeps one time all year that is the answer. Where it
spans several UTC offsets the state or province decides (``time_zone_regions.py``), then the
postcode, then a stated guess for the country; otherwise the answer says "unknown" and the
caller picks a fallback it can name. Nothing here falls back to UTC silently.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import NamedTuple
from zoneinfo import ZoneInfo

from babel.core import get_global

from dunning.decisions.timing.time_zone_regions import (
    AU_POSTCODE_STATES,
    CA_POSTAL_PROVINCES,
    COUNTRY_GUESSES,
    REGION_ZONES,
    US_ZIP3_STATES,
)
from dunning.models import Customer


class ZoneSource(StrEnum):
    STATE = "state"  # the billing state or province
    POSTAL_CODE = "postal_code"  # the billing postcode, where it names the state
    COUNTRY = "country"  # the country keeps one time everywhere
    COUNTRY_GUESS = "country_guess"  # several zones and no state: the country's likeliest one
    UNKNOWN = "unknown"


WORDS = {
    ZoneSource.STATE: "from the billing state",
    ZoneSource.POSTAL_CODE: "from the billing postcode",
    ZoneSource.COUNTRY: "from the billing country",
    ZoneSource.COUNTRY_GUESS: "assumed from the billing country (no state given)",
    ZoneSource.UNKNOWN: "time zone unknown",
}


class CustomerTimeZone(NamedTuple):
    zone: str  # an IANA zone name; "" when unknown
    known_by: ZoneSource

    @property
    def known(self) -> bool:
        return bool(self.zone)

    def described(self) -> str:
        """For a decision sentence: "America/Chicago, from the billing state"."""
        words = WORDS[self.known_by]
        return f"{self.zone}, {words}" if self.zone else words


UNKNOWN = CustomerTimeZone("", ZoneSource.UNKNOWN)


def customer_time_zone(
    *,
    country: str,
    state_code: str = "",
    state: str = "",
    zip: str = "",  # noqa: A002 - Chargebee's billing_address field
) -> CustomerTimeZone:
    """Where the customer's clock is, and how that is known."""
    country = (country or "").strip().upper()
    zones = country_time_zones(country)
    if country in REGION_ZONES:
        region = _region_zone(country, state_code) or _region_zone(country, state)
        if region:
            return CustomerTimeZone(region, ZoneSource.STATE)
        by_postcode = _postcode_region(country, zip)
        if by_postcode:
            return CustomerTimeZone(_region_zone(country, by_postcode), ZoneSource.POSTAL_CODE)
    if zones and _one_time(zones):
        return CustomerTimeZone(_principal(country, zones), ZoneSource.COUNTRY)
    if country in COUNTRY_GUESSES:
        return CustomerTimeZone(COUNTRY_GUESSES[country][0], ZoneSource.COUNTRY_GUESS)
    most = _most_of_country(country)
    return CustomerTimeZone(most, ZoneSource.COUNTRY_GUESS) if most else UNKNOWN


def billing_time_zone(customer: Customer) -> CustomerTimeZone:
    """``customer_time_zone`` for a mirrored customer's billing address."""
    return customer_time_zone(
        country=customer.country,
        state_code=customer.billing_state_code,
        state=customer.billing_state,
        zip=customer.billing_zip,
    )


def country_time_zones(country: str) -> tuple[str, ...]:
    """Every zone CLDR lists for the country (empty for a code that is not a country)."""
    return tuple(_territory_zones().get((country or "").upper(), ()))


@cache
def _territory_zones() -> dict[str, list[str]]:
    # "ZZ" (unknown region) lists Etc/Unknown; no customer lives there.
    return {
        code: zones
        for code, zones in get_global("territory_zones").items()
        if len(code) == 2 and code.isalpha() and code != "ZZ"
    }


@cache
def _one_time(zones: tuple[str, ...]) -> bool:
    """Whether the zones keep the same clock in winter and summer (this year's rules)."""
    year = datetime.now(UTC).year
    moments = (datetime(year, 1, 15, tzinfo=UTC), datetime(year, 7, 15, tzinfo=UTC))
    return len({tuple(m.astimezone(ZoneInfo(z)).utcoffset() for m in moments) for z in zones}) == 1


def _principal(country: str, zones: tuple[str, ...]) -> str:
    """The tz database's first row for the country (its principal zone), if CLDR lists it."""
    listed = [zone for zone, _ in _zone_tab().get(country, ())]
    return next((z for z in listed if z in zones), zones[0])


@cache
def _zone_tab() -> dict[str, list[tuple[str, str]]]:
    """tzdata's zone.tab: country -> [(zone, region comment)] in the database's order."""
    table: dict[str, list[tuple[str, str]]] = {}
    text = resources.files("tzdata").joinpath("zoneinfo/zone.tab").read_text(encoding="utf-8")
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        country, _coordinates, zone, *comment = line.split("\t")
        table.setdefault(country, []).append((zone, comment[0] if comment else ""))
    return table


def _most_of_country(country: str) -> str:
    """The one zone the tz database describes as most of the country or its mainland."""
    rows = [
        zone
        for zone, comment in _zone_tab().get(country, ())
        if "most of" in comment.lower() or "mainland" in comment.lower()
    ]
    return rows[0] if len(rows) == 1 else ""


def _folded(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(plain.replace("-", " ").replace(".", " ").lower().split())


@cache
def _regions(country: str) -> dict[str, str]:
    """Subdivision code or folded name -> zone, for one country."""
    found: dict[str, str] = {}
    for zone, entries in REGION_ZONES[country].items():
        for entry in entries:
            code, name = entry.split(" ", 1)
            found[code.lower()] = found[_folded(name)] = zone
    return found


def _region_zone(country: str, value: str) -> str:
    key = _folded(value or "")
    key = key.removeprefix(f"{country.lower()} ")  # "US-CA" folds to "us ca"
    return _regions(country).get(key, "")


def _postcode_region(country: str, postcode: str) -> str:
    """The subdivision a postcode belongs to, where its prefix says so."""
    code = (postcode or "").strip().upper()
    if country == "US" and code[:5].isdigit() and len(code) >= 5:
        return _in_ranges(int(code[:3]), US_ZIP3_STATES)
    if country == "CA" and code[:1].isalpha():
        return CA_POSTAL_PROVINCES.get(code[0], "")
    if country == "AU" and code.isdigit() and len(code) == 4:
        return _in_ranges(int(code), AU_POSTCODE_STATES)
    return ""


def _in_ranges(number: int, ranges: tuple[tuple[int, int, str], ...]) -> str:
    return next((region for low, high, region in ranges if low <= number <= high), "")
