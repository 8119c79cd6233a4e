"""The period and segment filters every dashboard takes, parsed once from the query string.

A filter value that makes no sense (an unknown period, a date that is not a date, "from"
after "to", a currency that is not three letters) is refused with the reason; the view
answers 400 with it rather than guessing what was meant.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta

from django import forms
from django.utils import timezone

from dunning.helpers.errors import ApplicationError

PERIODS = {"30": 30, "90": 90, "365": 365}
PERIOD_CHOICES = [("30", "Last 30 days"), ("90", "Last 90 days"), ("365", "Last 365 days")]
PERIOD_CHOICES.append(("custom", "Custom dates"))
MAX_RANGE_DAYS = 3 * 366


class FilterError(ApplicationError, ValueError):
    """The filters cannot be applied; ``str()`` says why, in words a user understands."""


@dataclass(frozen=True)
class DashboardFilters:
    """First failures in [since, until); segments compared exactly ("" means every value)."""

    since: datetime
    until: datetime
    period: str = "90"
    currency: str = ""
    plan: str = ""
    country: str = ""
    gateway: str = ""

    @property
    def cache_key(self) -> str:
        values = asdict(self)
        # The live dashboard's "until" moves every request: cache by the minute.
        values["until"] = self.until.replace(second=0, microsecond=0).isoformat()
        values["since"] = self.since.replace(second=0, microsecond=0).isoformat()
        return hashlib.sha256(repr(sorted(values.items())).encode()).hexdigest()[:24]

    @property
    def segments_cache_key(self) -> str:
        """The currency and segments alone: for figures of the present, which the period does
        not change (this period's and the previous one's share them)."""
        values = (self.currency, self.plan, self.country, self.gateway)
        return hashlib.sha256(repr(values).encode()).hexdigest()[:24]

    def with_currency(self, currency: str) -> DashboardFilters:
        return DashboardFilters(**{**asdict(self), "currency": currency})

    def previous_period(self) -> DashboardFilters:
        """The same filters over the period of the same length that ends where this starts."""
        length = self.until - self.since
        return DashboardFilters(
            **{**asdict(self), "since": self.since - length, "until": self.since}
        )

    @property
    def querystring_fields(self) -> dict[str, str]:
        fields = {
            "period": self.period,
            "currency": self.currency,
            "plan": self.plan,
            "country": self.country,
            "gateway": self.gateway,
        }
        if self.period == "custom":
            fields["from"] = self.since.date().isoformat()
            fields["to"] = (self.until - timedelta(days=1)).date().isoformat()
        return {k: v for k, v in fields.items() if v}


class FilterForm(forms.Form):
    period = forms.ChoiceField(choices=PERIOD_CHOICES, required=False)
    date_from = forms.DateField(required=False, label="From")
    date_to = forms.DateField(required=False, label="To")
    currency = forms.RegexField(regex=r"^[A-Za-z]{3}$", required=False, max_length=3)
    plan = forms.CharField(required=False, max_length=100)
    country = forms.RegexField(regex=r"^[A-Za-z]{2}$", required=False, max_length=2)
    gateway = forms.CharField(required=False, max_length=50)

    def __init__(self, data=None, **kwargs):
        # The query string says from/to (short, readable links); the form fields cannot.
        if data is not None:
            data = data.copy()
            for short, field in (("from", "date_from"), ("to", "date_to")):
                if short in data:
                    data[field] = data.get(short)
                    del data[short]
        super().__init__(data, **kwargs)


def filters_parse(
    *, params, default_period: str = "90", now: datetime | None = None, also=frozenset()
):
    """``DashboardFilters`` from a QueryDict; raises FilterError naming what is wrong.
    ``also``: the screen's own parameters, parsed by the screen."""
    allowed = {"period", "from", "to", "currency", "plan", "country", "gateway"}
    allowed |= {"format", "chart", "by", *also}
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise FilterError(f"Unknown filter: {', '.join(unknown)}.")
    form = FilterForm(params)
    if not form.is_valid():
        reasons = [
            f"{form.fields[name].label or name.capitalize()}: {' '.join(map(str, errors))}"
            for name, errors in form.errors.items()
        ]
        raise FilterError(" ".join(reasons))
    data = form.cleaned_data
    now = now or timezone.now()
    period = data["period"] or (
        "custom" if data["date_from"] or data["date_to"] else default_period
    )
    if period == "custom":
        since, until = _custom_range(data["date_from"], data["date_to"], now=now)
    else:
        if data["date_from"] or data["date_to"]:
            raise FilterError("From/To dates go with the custom period only.")
        since, until = now - timedelta(days=PERIODS[period]), now
    return DashboardFilters(
        since=since,
        until=until,
        period=period,
        currency=data["currency"].upper(),
        plan=data["plan"].strip(),
        country=data["country"].upper(),
        gateway=data["gateway"].strip(),
    )


def _custom_range(start: date | None, end: date | None, *, now: datetime):
    if start is None:
        raise FilterError("A custom period needs a From date.")
    end = end or now.date()
    if end < start:
        raise FilterError("The From date must be on or before the To date.")
    if (end - start).days > MAX_RANGE_DAYS:
        raise FilterError(f"A custom period spans at most {MAX_RANGE_DAYS} days.")
    since = datetime.combine(start, time.min, tzinfo=UTC)
    until = datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC)
    return since, until
