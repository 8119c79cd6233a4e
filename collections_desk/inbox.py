"""The approval inbox's reading: what this person can decide now, the filters and counts,
and the set a bulk approval covers.

"What I can decide now" leaves out what the person may not approve (high-risk and
always-approved kinds for an agent, their own edits, what they approved already): an agent
does not page through cards only a manager can act on. Every filter is a condition on one
query; each filter's counts are one grouped query with the other filters applied.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django import forms
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    FilteredRelation,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models import Case as SqlCase
from django.utils import timezone

from collections_desk.access import actions_visible_to
from collections_desk.models import OPEN_STATES, Case, Team
from collections_desk.queries import awaiting_approval, inbox_actions
from dunning.actions.state_machine import action_fingerprint
from dunning.actions.words import action_amount
from dunning.decisions.labels import label
from dunning.governance.exchange_rates import ReportingTotal, reporting_total
from dunning.helpers.money import decimals
from dunning.models import ALWAYS_NEEDS_APPROVAL, Action, ActionApproval, ActionKind, Channel

HIGH_RISK = "dunning.approve_high_risk_action"
SHOW = (("mine", "What I can decide now"), ("all", "Everything waiting"))
RISKS = (("high", "High risk"), ("low", "Low risk"))
# How long an action has waited for a person, by when it was proposed.
AGES = (
    ("today", "Under a day", 0, 1),
    ("days", "1 to 3 days", 1, 3),
    ("week", "3 to 7 days", 3, 7),
    ("older", "Over a week", 7, None),
)


class InboxFilterForm(forms.Form):
    show = forms.ChoiceField(choices=SHOW, required=False)
    risk = forms.ChoiceField(choices=[("", "Any risk"), *RISKS], required=False)
    kind = forms.ChoiceField(choices=[("", "Any action"), *ActionKind.choices], required=False)
    team = forms.ModelChoiceField(
        queryset=Team.objects.order_by("routing_order", "name"),
        required=False,
        empty_label="Any team",
    )
    segment = forms.CharField(max_length=40, required=False)
    channel = forms.ChoiceField(choices=[("", "Any channel"), *Channel.choices], required=False)
    amount_min = forms.DecimalField(min_value=0, required=False, label="Amount from")
    amount_max = forms.DecimalField(min_value=0, required=False, label="Amount to")
    age = forms.ChoiceField(
        choices=[("", "Any age"), *[(k, label) for k, label, *_ in AGES]],
        required=False,
        label="Waiting",
    )

    def clean(self):
        data = super().clean()
        low, high = data.get("amount_min"), data.get("amount_max")
        if low is not None and high is not None and low > high:
            raise forms.ValidationError("The lowest amount is above the highest.")
        return data


def decidable_condition(*, user) -> Q:
    """The actions ``user`` may approve now (hints for the list; the service decides)."""
    approved_already = ActionApproval.objects.filter(action=OuterRef("pk"), user=user).filter(
        Q(action__edited_at__isnull=True) | Q(created_at__gte=F("action__edited_at"))
    )
    condition = ~Q(edited_by=user) & ~Q(Exists(approved_already))
    if not user.has_perm(HIGH_RISK):
        condition &= ~Q(risk=Action.Risk.HIGH) & ~Q(kind__in=ALWAYS_NEEDS_APPROVAL)
    return condition


def _amount_at_least(value: Decimal, codes: list[str], *, above: bool) -> Q:
    """Invoice amounts compared in each currency's own minor units."""
    condition = Q()
    for code in codes:
        minor = int(value.scaleb(decimals(code)))
        bound = "gte" if above else "lte"
        condition |= Q(invoice__currency_code=code, **{f"invoice__amount_due__{bound}": minor})
    return condition or Q(pk__in=[])


def _age(key: str, *, now) -> Q:
    for name, _, newest, oldest in AGES:
        if name == key:
            condition = Q(created_at__lte=now - timedelta(days=newest))
            if oldest is not None:
                condition &= Q(created_at__gt=now - timedelta(days=oldest))
            return condition
    return Q()


def _conditions(data: dict, *, now) -> dict[str, Q]:
    """Each facet filter chosen, as a condition on the list (team: the team of the
    customer's open case, ``case_team``, annotated by ``_with_case_team``)."""
    chosen = {
        name: Q(**{name: data[name]}) for name in ("risk", "kind", "channel") if data.get(name)
    }
    if data.get("segment"):
        chosen["segment"] = Q(decision__segment=data["segment"])
    if data.get("team"):
        chosen["team"] = Q(case_team=data["team"].pk)
    if data.get("age"):
        chosen["age"] = _age(data["age"], now=now)
    return chosen


def _amounts(actions: QuerySet[Action], data: dict) -> QuerySet[Action]:
    """The amount filters (not facets: no counts of their own)."""
    if data.get("amount_min") is None and data.get("amount_max") is None:
        return actions
    codes = list(actions.order_by().values_list("invoice__currency_code", flat=True).distinct())
    for name, above in (("amount_min", True), ("amount_max", False)):
        if data.get(name) is not None:
            actions = actions.filter(_amount_at_least(data[name], codes, above=above))
    return actions


def _all_but(chosen: dict[str, Q], skip: str = "") -> Q:
    condition = Q()
    for name, each in chosen.items():
        if name != skip:
            condition &= each
    return condition


@dataclass(frozen=True)
class Facet:
    name: str
    choices: list[tuple[str, str, int]]  # value, label, how many match with the others
    selected: str = ""


@dataclass(frozen=True)
class InboxView:
    actions: QuerySet[Action]
    show: str
    counts: dict[str, int]  # "mine", "all": how many each view holds, with the filters
    facets: list[Facet]


def inbox_actions_filtered(*, user, data: dict, now=None) -> QuerySet[Action]:
    """What the inbox lists for ``data`` (its "show" and filters), without the counts."""
    now = now or timezone.now()
    everything = _amounts(_with_case_team(inbox_actions(user=user)), data)
    chosen = _all_but(_conditions(data, now=now))
    if (data.get("show") or "mine") == "mine":
        chosen &= decidable_condition(user=user)
    return everything.filter(chosen)


FACETS = ("risk", "kind", "team", "segment", "channel", "age")


def inbox_view(*, user, data: dict, now=None) -> InboxView:
    """The list, both views' counts and every facet's counts (each with the other filters
    applied), the counts from one grouped query: the waiting actions in reach, counted by
    risk, kind, team, segment, channel, age and whether this person may decide them."""
    now = now or timezone.now()
    show = data.get("show") or "mine"
    chosen = _chosen(data)
    tally = _crosstab(
        _amounts(awaiting_approval(actions_visible_to(user)), data), user=user, now=now
    )

    def matching(row: dict, skip: str = "") -> bool:
        return all(row[name] == value for name, value in chosen.items() if name != skip)

    counts = {"all": 0, "mine": 0}
    found = {name: Counter() for name in FACETS}
    for row in tally:
        if matching(row):
            counts["all"] += row["n"]
            counts["mine"] += row["n"] if row["decidable"] else 0
        if show == "all" or row["decidable"]:
            for name in FACETS:
                if matching(row, skip=name):
                    found[name][row[name]] += row["n"]
    teams = [(t.pk, t.name) for t in Team.objects.order_by("routing_order", "name")]
    segments = sorted(s for s in found["segment"] if s)
    choices = {
        "risk": RISKS,
        "kind": ActionKind.choices,
        "team": teams,
        "segment": [(s, label(s, "segment")) for s in segments],
        "channel": Channel.choices,
        "age": [(key, words) for key, words, *_ in AGES],
    }
    facets = [
        Facet(
            name,
            [(str(v), words, found[name][v]) for v, words in choices[name]],
            selected=_selected(data.get(name)),
        )
        for name in FACETS
    ]
    listed = inbox_actions_filtered(user=user, data=data, now=now)
    return InboxView(actions=listed, show=show, counts=counts, facets=facets)


def _chosen(data: dict) -> dict:
    """The facet filters chosen, as the values ``_crosstab`` rows hold."""
    chosen = {name: data[name] for name in FACETS if data.get(name)}
    if "team" in chosen:
        chosen["team"] = chosen["team"].pk
    return chosen


def _crosstab(actions: QuerySet[Action], *, user, now) -> list[dict]:
    """How many ``actions`` there are for each combination of the facets' values and
    "may decide" (a few hundred rows at most, however many actions)."""
    ages = [When(created_at__gt=now, then=Value(""))]  # proposed after ``now``: no age yet
    ages += [
        When(created_at__gt=now - timedelta(days=oldest), then=Value(key))
        for key, _, _, oldest in AGES
        if oldest is not None
    ]
    # The open case joined (at most one per customer, a constraint), not looked up per row.
    open_case = FilteredRelation(
        "customer__cases", condition=Q(customer__cases__state__in=OPEN_STATES)
    )
    return list(
        actions.annotate(
            open_case=open_case,
            team=F("open_case__team_id"),
            segment=F("decision__segment"),
            age=SqlCase(*ages, default=Value(AGES[-1][0])),
            decidable=ExpressionWrapper(
                decidable_condition(user=user), output_field=BooleanField()
            ),
        )
        .order_by()
        .values(*FACETS, "decidable")
        .annotate(n=Count("pk"))
    )


def _case_team() -> Subquery:
    # At most one open case per customer (a constraint): its team is the action's.
    open_case = Case.objects.filter(customer_id=OuterRef("customer_id"), state__in=OPEN_STATES)
    return Subquery(open_case.order_by().values("team_id")[:1])


def _with_case_team(actions: QuerySet[Action]) -> QuerySet[Action]:
    return actions.annotate(case_team=_case_team())


def _selected(value) -> str:
    return str(value.pk) if isinstance(value, Team) else str(value or "")


@dataclass(frozen=True)
class BulkSelection:
    """What a bulk approval covers: exactly these actions, as they are now."""

    pairs: dict[int, str]  # action id -> fingerprint shown
    total: ReportingTotal
    by_currency: dict[str, int]


def bulk_selection(actions) -> BulkSelection:
    pairs, by_currency = {}, {}
    for action in actions:  # with their invoices (inbox_actions selects them)
        pairs[action.pk] = action_fingerprint(action)
        code = action.invoice.currency_code or ""
        by_currency[code] = by_currency.get(code, 0) + action_amount(action, action.invoice)
    return BulkSelection(pairs, reporting_total(amounts=by_currency), by_currency)
