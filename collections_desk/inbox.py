"""The approval inbox's reading: what this person can decide now, the filters and counts,
and the set a bulk approval covers.

"What I can decide now" leaves out what the person may not approve (high-risk and
always-approved kinds for an agent, their own edits, what they approved already): an agent
does not page through cards only a manager can act on. Every filter is a condition on one
query; each filter's counts are one grouped query with the other filters applied.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal

from django import forms
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from collections_desk.models import OPEN_STATES, Case, Team
from collections_desk.queries import inbox_actions
from dunning.decisions.action_words import action_amount
from dunning.exchange_rates import ReportingTotal, reporting_total
from dunning.labels import label
from dunning.models import ALWAYS_NEEDS_APPROVAL, Action, ActionApproval, ActionKind, Channel
from dunning.money import decimals

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
    team = forms.ModelChoiceField(queryset=Team.objects.order_by("routing_order", "name"),
                                  required=False, empty_label="Any team")  # fmt: skip
    segment = forms.CharField(max_length=40, required=False)
    channel = forms.ChoiceField(choices=[("", "Any channel"), *Channel.choices], required=False)
    amount_min = forms.DecimalField(min_value=0, required=False, label="Amount from")
    amount_max = forms.DecimalField(min_value=0, required=False, label="Amount to")
    age = forms.ChoiceField(choices=[("", "Any age"), *[(k, label) for k, label, *_ in AGES]],
                            required=False, label="Waiting")  # fmt: skip

    def clean(self):
        data = super().clean()
        low, high = data.get("amount_min"), data.get("amount_max")
        if low is not None and high is not None and low > high:
            raise forms.ValidationError("The lowest amount is above the highest.")
        return data


def decidable_by(actions: QuerySet[Action], *, user) -> QuerySet[Action]:
    """The actions ``user`` may approve now (hints for the list; the service decides)."""
    if not user.has_perm(HIGH_RISK):
        actions = actions.exclude(risk=Action.Risk.HIGH).exclude(kind__in=ALWAYS_NEEDS_APPROVAL)
    approved_already = ActionApproval.objects.filter(action=OuterRef("pk"), user=user).filter(
        Q(action__edited_at__isnull=True) | Q(created_at__gte=F("action__edited_at"))
    )
    return actions.exclude(edited_by=user).exclude(Exists(approved_already))


def _amount_at_least(value: Decimal, codes: list[str], *, above: bool) -> Q:
    """Invoice amounts compared in each currency's own minor units."""
    condition = Q()
    for code in codes:
        minor = int(value.scaleb(decimals(code)))
        bound = "gte" if above else "lte"
        condition |= Q(invoice__currency_code=code, **{f"invoice__amount_due__{bound}": minor})
    return condition or Q(pk__in=[])


def _filtered(actions: QuerySet[Action], data: dict, *, now, skip: str = "") -> QuerySet[Action]:
    for name in ("risk", "kind", "channel"):
        if data.get(name) and name != skip:
            actions = actions.filter(**{name: data[name]})
    if data.get("segment") and skip != "segment":
        actions = actions.filter(decision__segment=data["segment"])
    if data.get("team") and skip != "team":
        in_team = Case.objects.filter(customer_id=OuterRef("customer_id"), state__in=OPEN_STATES,
                                      team=data["team"])  # fmt: skip
        actions = actions.filter(Exists(in_team))
    codes = None
    for name, above in (("amount_min", True), ("amount_max", False)):
        if data.get(name) is not None:
            if codes is None:
                codes = list(actions.values_list("invoice__currency_code", flat=True).distinct())
            actions = actions.filter(_amount_at_least(data[name], codes, above=above))
    if data.get("age") and skip != "age":
        for key, _, newest, oldest in AGES:
            if key == data["age"]:
                actions = actions.filter(created_at__lte=now - timedelta(days=newest))
                if oldest is not None:
                    actions = actions.filter(created_at__gt=now - timedelta(days=oldest))
    return actions


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


def inbox_view(*, user, data: dict, now=None) -> InboxView:
    now = now or timezone.now()
    show = data.get("show") or "mine"
    everything = inbox_actions(user=user)
    mine = decidable_by(everything, user=user)
    scope = mine if show == "mine" else everything
    counts = {"mine": _filtered(mine, data, now=now).count(),
              "all": _filtered(everything, data, now=now).count()}  # fmt: skip
    return InboxView(
        actions=_filtered(scope, data, now=now),
        show=show,
        counts=counts,
        facets=[
            replace(facet, selected=_selected(data.get(facet.name)))
            for facet in _facets(scope, data, now=now)
        ],
    )


def _selected(value) -> str:
    return str(value.pk) if isinstance(value, Team) else str(value or "")


def _grouped(actions: QuerySet[Action], field: str) -> dict:
    rows = actions.order_by().values(field).annotate(n=Count("id"))
    return {row[field]: row["n"] for row in rows}


def _facets(scope: QuerySet[Action], data: dict, *, now) -> list[Facet]:
    def counted(name: str, field: str, labels) -> Facet:
        found = _grouped(_filtered(scope, data, now=now, skip=name), field)
        return Facet(name, [(str(v), label, found.get(v, 0)) for v, label in labels])

    teams = [(t.pk, t.name) for t in Team.objects.order_by("routing_order", "name")]
    team_of = Case.objects.filter(customer_id=OuterRef("customer_id"), state__in=OPEN_STATES)
    by_team = _grouped(
        _filtered(scope, data, now=now, skip="team").annotate(
            team_id=team_of.values("team_id")[:1]
        ),
        "team_id",
    )
    segments = _grouped(_filtered(scope, data, now=now, skip="segment"), "decision__segment")
    aged = _filtered(scope, data, now=now, skip="age")
    ages = [
        (key, label, aged.filter(created_at__lte=now - timedelta(days=newest),
                                 **({"created_at__gt": now - timedelta(days=oldest)}
                                    if oldest is not None else {})).count())
        for key, label, newest, oldest in AGES
    ]  # fmt: skip
    return [
        counted("risk", "risk", RISKS),
        counted("kind", "kind", ActionKind.choices),
        Facet("team", [(str(pk), name, by_team.get(pk, 0)) for pk, name in teams]),
        Facet("segment", [(s, label(s, "segment"), n) for s, n in sorted(segments.items()) if s]),
        counted("channel", "channel", Channel.choices),
        Facet("age", ages),
    ]


@dataclass(frozen=True)
class BulkSelection:
    """What a bulk approval covers: exactly these actions, as they are now."""

    pairs: dict[int, str]  # action id -> fingerprint shown
    total: ReportingTotal
    by_currency: dict[str, int]


def bulk_selection(actions) -> BulkSelection:
    from dunning.decisions.actions import action_fingerprint

    pairs, by_currency = {}, {}
    for action in actions:  # with their invoices (inbox_actions selects them)
        pairs[action.pk] = action_fingerprint(action)
        code = action.invoice.currency_code or ""
        by_currency[code] = by_currency.get(code, 0) + action_amount(action, action.invoice)
    return BulkSelection(pairs, reporting_total(amounts=by_currency), by_currency)
