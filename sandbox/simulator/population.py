"""The customers: who they are, how they pay, and the traits the model never sees."""

from __future__ import annotations

import calendar
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sandbox.simulator import parameters as p

FIRST_NAMES = [
    "Ana",
    "Ben",
    "Chloé",
    "Dmitri",
    "Emma",
    "Farah",
    "Gustav",
    "Hana",
    "Ivan",
    "Jia",
    "Kofi",
    "Lena",
    "Mateo",
    "Nora",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sven",
    "Tariq",
    "Uma",
    "Viktor",
    "Wen",
    "Ximena",
    "Yusuf",
    "Zoë",
    "Aiko",
    "Bruno",
    "Carmen",
    "Diego",
    "Elif",
    "Felix",
    "Greta",
    "Hugo",
    "Ines",
    "Jonas",
    "Kai",
    "Luca",
    "Maya",
    "Nils",
    "Olga",
    "Pablo",
    "Rhea",
    "Sami",
    "Tomás",
    "Vera",
    "Will",
]
LAST_NAMES = [
    "Silva",
    "Okafor",
    "Müller",
    "Tanaka",
    "Novak",
    "García",
    "Haddad",
    "Johansson",
    "Kowalski",
    "Larsen",
    "Moreau",
    "Nguyen",
    "O'Brien",
    "Patel",
    "Rossi",
    "Schmidt",
    "Dubois",
    "Jensen",
    "Kim",
    "Lopez",
    "Martin",
    "Nakamura",
    "Petrov",
    "Quist",
    "Ramírez",
    "Sato",
    "Thompson",
    "Usman",
    "Varga",
    "Weber",
    "Yilmaz",
    "Zimmermann",
]
COMPANY_SUFFIXES = ("Labs", "GmbH", "Studio", "Ltd", "Inc", "Collective", "& Co", "Analytics")


def weighted(rng: random.Random, weights: dict):
    return rng.choices(list(weights), weights=list(weights.values()))[0]


@dataclass
class SimCustomer:
    customer_id: str
    country: str
    currency: str
    time_zone: str
    payday: str
    plan: str
    annual: bool
    funding: str
    brand: str
    gateway: str
    # Hidden traits: they drive outcomes but are never sent to Dunwell.
    financial_stress: float
    responsiveness: float
    engagement: float
    churn_intent_from: float | None  # simulated time after which they stop caring
    subscription_id: str = ""
    payment_source_id: str = ""
    failures: int = 0
    card_expiry: tuple[int, int] = (12, 2030)
    extra: dict = field(default_factory=dict)

    @property
    def zone(self) -> ZoneInfo:
        return _zone(self.time_zone)

    def local(self, ts: float) -> datetime:
        return datetime.fromtimestamp(ts, tz=UTC).astimezone(self.zone)

    def has_churn_intent(self, ts: float) -> bool:
        return self.churn_intent_from is not None and ts >= self.churn_intent_from


_ZONES: dict[str, ZoneInfo] = {}


def _zone(name: str) -> ZoneInfo:
    if name not in _ZONES:
        _ZONES[name] = ZoneInfo(name)
    return _ZONES[name]


def draw_customer(rng: random.Random, *, start: float, end: float) -> dict:
    """The visible attributes and hidden traits of one new customer."""
    country = weighted(rng, {c: v[0] for c, v in p.COUNTRIES.items()})
    _share, currency, zones, payday_region = p.COUNTRIES[country]
    funding = weighted(rng, p.FUNDING_MIX)
    churn_intent_from = (
        rng.uniform(start, end + 180 * p.DAY) if rng.random() < p.CHURN_INTENT_SHARE * 2 else None
    )
    return {
        "first_name": rng.choice(FIRST_NAMES),
        "last_name": rng.choice(LAST_NAMES),
        "country": country,
        "currency": currency,
        "time_zone": rng.choice(zones),
        "payday": weighted(rng, p.PAYDAY_MIX[payday_region]),
        "plan": weighted(rng, p.PLAN_MIX),
        "annual": rng.random() < p.ANNUAL_SHARE,
        "funding": funding,
        "brand": weighted(rng, p.BRAND_MIX),
        "gateway": weighted(rng, p.GATEWAY_MIX),
        "financial_stress": rng.betavariate(*p.FINANCIAL_STRESS_BETA)
        * (1.3 if funding != "credit" else 1.0),
        "responsiveness": rng.betavariate(2.0, 2.0),
        "engagement": rng.betavariate(3.0, 2.0),
        "churn_intent_from": churn_intent_from,
    }


def _last_business_day(year: int, month: int) -> int:
    day = calendar.monthrange(year, month)[1]
    while calendar.weekday(year, month, day) >= 5:
        day -= 1
    return day


def is_payday(customer: SimCustomer, local: datetime) -> bool:
    kind = customer.payday
    if kind == "first":
        return local.day == 1
    if kind == "semi_monthly":
        return local.day in (1, 15)
    if kind == "twenty_fifth":
        return local.day == 25
    if kind == "last_business_day":
        return local.day == _last_business_day(local.year, local.month)
    if kind == "weekly_friday":
        return local.weekday() == 4
    if kind == "biweekly_friday":
        return local.weekday() == 4 and local.isocalendar().week % 2 == 0
    raise ValueError(kind)


def payday_between(customer: SimCustomer, start: float, end: float) -> bool:
    """Whether the customer's pay landed after ``start`` and by ``end``: a payday's money is
    spendable ``FUNDS_LANDING_HOURS`` after its local midnight."""
    landing = timedelta(hours=p.FUNDS_LANDING_HOURS)
    first = (customer.local(start) - landing).date() + timedelta(days=1)
    last = (customer.local(end) - landing).date()
    day = first
    while day <= last:
        if is_payday(customer, datetime(day.year, day.month, day.day)):
            return True
        day += timedelta(days=1)
    return False
