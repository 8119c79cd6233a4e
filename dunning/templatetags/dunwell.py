from __future__ import annotations

import json

from django import template
from django.template import loader

from dunning.actions.channels.case_context import MESSAGE_KINDS
from dunning.actions.channels.message_life import delivery_words, message_life
from dunning.decisions import labels
from dunning.helpers.filter_fields import filters_set
from dunning.helpers.money import amount_text, decimals

register = template.Library()


@register.filter
def money(amount: int | None, currency: str | None = "") -> str:
    """Minor units to a readable amount: 123456, "EUR" -> "EUR 1,234.56"."""
    if amount is None:
        return "—"
    currency = (currency or "").upper()
    return f"{currency} {amount_text(amount, currency)}".strip()


@register.filter
def pretty_json(value) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


@register.filter
def major(value: float | None, currency: str | None = "") -> str:
    """An amount already in major units, as precise as its currency: 22000.0, "JPY" -> "22,000"."""
    if value is None:
        return "—"
    return f"{value:,.{decimals(currency)}f}"


@register.simple_tag
def message_life_of(action):
    """Where a message action's message is in its life (None for other actions)."""

    if action is None or action.kind not in MESSAGE_KINDS:
        return None
    return message_life(action=action)


@register.filter
def delivery(message) -> str:
    """What the provider said about a sent message, in words ("" if nothing)."""
    return delivery_words(message)


# Codes and stored values in words (dunning/decisions/labels.py), by the same names in templates:
# ``{{ case.segment|label:"segment" }}``, ``{{ txn.decline_code|decline }}`` ("Expired card
# (54)"), ``{{ 60000.0|number }}`` ("60,000"), ``{{ entry.data|readable }}`` (rows for
# ``_readable.html``), ``{{ "action.proposed"|words }}`` ("Action proposed").
for _name, _function in {
    "label": labels.label,
    "decline": labels.decline_label,
    "number": labels.number,
    "readable": labels.readable_items,
    "model_label": labels.model_label,
    "words": labels.words,
    "value_text": labels.value_text,
}.items():
    register.filter(_name, _function)


@register.filter
def rule_source(decision, rule: str) -> str:
    """Where a fired rule comes from (kept out of the sentence): for the badge's ``title``."""
    sources = (getattr(decision, "explanation", None) or {}).get("rule_sources") or {}
    return sources.get(rule, "")


class FilterDisclosureNode(template.Node):
    def __init__(self, nodelist: template.NodeList, invalid: template.base.FilterExpression | None):
        self.nodelist = nodelist
        self.invalid = invalid

    def render(self, context: template.Context) -> str:
        form_html = self.nodelist.render(context)  # safe: the page's own escaped markup
        request = context.get("request")
        invalid = bool(self.invalid.resolve(context)) if self.invalid is not None else False
        return loader.render_to_string(
            "_filter_disclosure.html",
            {
                "form_html": form_html,
                "set": filters_set(form_html, request.GET if request is not None else {}),
                "open": invalid,
            },
        )


@register.tag
def filter_disclosure(parser: template.base.Parser, token: template.base.Token) -> template.Node:
    """A list page's filter form folded under "Filters · n set" on a narrow screen (shown as
    a plain form on a wide one, see dunwell.css), open when a filter is invalid so that the
    field to fix is in sight beside the page's error:

        {% filter_disclosure invalid=form.errors %}
          <form class="filters" …>…</form>
        {% endfilter_disclosure %}
    """
    bits = token.split_contents()[1:]
    invalid = None
    for bit in bits:
        key, _, value = bit.partition("=")
        if key != "invalid" or not value:
            raise template.TemplateSyntaxError("filter_disclosure takes only invalid=<value>")
        invalid = parser.compile_filter(value)
    nodelist = parser.parse(("endfilter_disclosure",))
    parser.delete_first_token()
    return FilterDisclosureNode(nodelist, invalid)
