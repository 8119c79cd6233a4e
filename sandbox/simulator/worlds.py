"""Businesses Dunwell was never tuned on: the simulator's parameters drawn at random.

``parameters.py`` is one calibrated business. A model judged only there is judged on the
world its tests were written against, so ``evaluate_policy --worlds N`` draws N others:
their payday mix, how soon pay lands, the time-of-day curve, where customers live, the
decline and brand mix, how much customers differ, and how strongly pay and retries matter.
Every world records its history under Chargebee's custom dunning (the fixed +1/+3/+5 day
schedule, renewals at one hour of day), as a real site onboarding Dunwell has it.

A world is applied by setting the parameters module's values for the length of a ``with``
block: the simulator reads them at call time. Not thread-safe; one world per process.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass

from sandbox.simulator import parameters as p

# Countries a world may add beyond the calibrated mix: (currency, zones, payday region).
EXTRA_COUNTRIES = {
    "FI": ("EUR", ["Europe/Helsinki"], "eu"),
    "PL": ("EUR", ["Europe/Warsaw"], "eu"),
    "PK": ("USD", ["Asia/Karachi"], "eu"),
    "IN": ("USD", ["Asia/Kolkata"], "eu"),
    "MX": ("USD", ["America/Mexico_City", "America/Tijuana"], "us"),
    "SG": ("USD", ["Asia/Singapore"], "au"),
    "NZ": ("AUD", ["Pacific/Auckland"], "au"),
    "ZA": ("USD", ["Africa/Johannesburg"], "eu"),
}
# The calibrated business, as imported: every world is drawn from it (not from whatever
# world is applied at the time).
CALIBRATED = {
    "PAYDAY_MIX": p.PAYDAY_MIX,
    "COUNTRIES": p.COUNTRIES,
    "DECLINE_MIX": p.DECLINE_MIX,
    "BRAND_MIX": p.BRAND_MIX,
    "FUNDING_MIX": p.FUNDING_MIX,
    "RETRY_BASE_SUCCESS": p.RETRY_BASE_SUCCESS,
}
US_ZONES = [
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Phoenix",
]


@dataclass(frozen=True)
class World:
    name: str
    payday_mix: dict
    funds_landing_hours: int
    time_of_day: tuple
    debit_overnight: tuple
    countries: dict
    decline_mix: dict
    brand_mix: dict
    funding_mix: dict
    financial_stress_beta: tuple
    retry_base_success: dict
    payday_boost: float
    renewal_hour_utc: int

    def describe(self) -> str:
        paydays = max(self.payday_mix["us"], key=self.payday_mix["us"].get)
        return (
            f"{self.name}: US paydays mostly {paydays}, pay lands +{self.funds_landing_hours} h, "
            f"best hours {self.time_of_day[0][0]:02d}-{self.time_of_day[0][1]:02d}, "
            f"{len(self.countries)} countries, payday boost {self.payday_boost:.1f}"
        )

    def as_dict(self) -> dict:
        return asdict(self)


def _shuffle_weights(rng: random.Random, weights: dict, *, spread: float) -> dict:
    """Each weight times a log-uniform factor in [1/spread, spread], renormalised."""
    raw = {k: v * spread ** rng.uniform(-1, 1) for k, v in weights.items()}
    total = sum(raw.values())
    return {k: v / total for k, v in raw.items()}


def world_draw(index: int) -> World:
    """The ``index``-th random world (the same index always gives the same world)."""
    rng = random.Random(f"world:{index}")
    kinds = [
        "biweekly_friday",
        "weekly_friday",
        "first",
        "semi_monthly",
        "last_business_day",
        "twenty_fifth",
    ]
    payday_mix = {
        region: _shuffle_weights(rng, {k: mix.get(k, 0.03) for k in kinds}, spread=4.0)
        for region, mix in CALIBRATED["PAYDAY_MIX"].items()
    }
    best_from = rng.randint(4, 10)
    best = (best_from, best_from + rng.randint(3, 6), rng.uniform(1.05, 1.45))
    night_from = rng.randint(0, 2)
    night = (night_from, night_from + rng.randint(3, 5), rng.uniform(0.55, 0.9))
    countries = {c: list(v) for c, v in CALIBRATED["COUNTRIES"].items()}
    countries["US"][2] = US_ZONES
    for country in rng.sample(sorted(EXTRA_COUNTRIES), rng.randint(2, 5)):
        currency, zones, region = EXTRA_COUNTRIES[country]
        countries[country] = [0.03, currency, zones, region]
    shares = _shuffle_weights(rng, {c: v[0] for c, v in countries.items()}, spread=3.0)
    countries = {c: (shares[c], *v[1:]) for c, v in countries.items()}
    stress_a = rng.uniform(1.0, 2.5)
    return World(
        name=f"world {index}",
        payday_mix=payday_mix,
        funds_landing_hours=rng.choice([0, 0, 4, 8, 12, 24, 30]),
        time_of_day=(best, night),
        debit_overnight=(0, 2, rng.uniform(1.0, 1.5)),
        countries=countries,
        decline_mix=_shuffle_weights(rng, CALIBRATED["DECLINE_MIX"], spread=2.0),
        brand_mix=_shuffle_weights(rng, CALIBRATED["BRAND_MIX"], spread=2.5),
        funding_mix=_shuffle_weights(rng, CALIBRATED["FUNDING_MIX"], spread=1.8),
        financial_stress_beta=(stress_a, stress_a * rng.uniform(1.8, 3.5)),
        retry_base_success={
            k: min(v * rng.uniform(0.7, 1.35), 0.95)
            for k, v in CALIBRATED["RETRY_BASE_SUCCESS"].items()
        },
        payday_boost=rng.uniform(2.0, 5.0),
        renewal_hour_utc=rng.randint(0, 23),
    )


OVERRIDES = {
    "payday_mix": "PAYDAY_MIX",
    "funds_landing_hours": "FUNDS_LANDING_HOURS",
    "time_of_day": "TIME_OF_DAY_FACTORS",
    "debit_overnight": "DEBIT_OVERNIGHT",
    "countries": "COUNTRIES",
    "decline_mix": "DECLINE_MIX",
    "brand_mix": "BRAND_MIX",
    "funding_mix": "FUNDING_MIX",
    "financial_stress_beta": "FINANCIAL_STRESS_BETA",
    "retry_base_success": "RETRY_BASE_SUCCESS",
    "payday_boost": "PAYDAY_BOOST",
    "renewal_hour_utc": "RENEWAL_HOUR_UTC",
}


@contextmanager
def world_applied(world: World | None) -> Iterator[None]:
    """Run the simulator in ``world`` (None: the calibrated business) inside the block."""
    if world is None:
        yield
        return
    saved = {name: getattr(p, name) for name in OVERRIDES.values()}
    try:
        for field_name, name in OVERRIDES.items():
            setattr(p, name, getattr(world, field_name))
        yield
    finally:
        for name, value in saved.items():
            setattr(p, name, value)
