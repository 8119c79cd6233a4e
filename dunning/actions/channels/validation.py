"""Checking a draft before it can reach a customer (or a person reviewing it).

Applied to every draft, the built-in drafter's included, but written for the LLM's: its
output is untrusted text. A draft passes only if it contains the placeholders the action
needs and nothing Dunwell did not put there — no link of its own (the only link is
``{pay_link}``), no amount of money (the only amount is ``{amount}``), no offer unless the
policy allows one, no placeholder Dunwell does not know, and it fits the channel.
"""

from __future__ import annotations

from dunning.actions.channels.drafting import LENGTH_LIMITS, PLACEHOLDERS, Draft
from dunning.helpers.message_text import LINK, MONEY, OFFER, PLACEHOLDER


def draft_problems(
    draft: Draft,
    *,
    channel: str,
    required: tuple[str, ...],
    offers_allowed: bool = False,
    filled_lengths: dict[str, int] | None = None,
) -> list[str]:
    """What is wrong with ``draft``; an empty list means it may be used."""
    problems = []
    text = f"{draft.subject}\n{draft.body}"
    if not draft.body.strip():
        problems.append("the message is empty")
    used = set(PLACEHOLDER.findall(text))
    unknown = sorted(used - set(PLACEHOLDERS))
    if unknown:
        problems.append(f"unknown placeholders: {', '.join('{' + u + '}' for u in unknown)}")
    missing = [name for name in required if f"{{{name}}}" not in draft.body]
    if missing:
        problems.append(f"missing placeholders: {', '.join('{' + m + '}' for m in missing)}")
    bare = PLACEHOLDER.sub(" ", text)  # the placeholders themselves are not links or money
    if LINK.search(bare):
        problems.append("it contains a link of its own (the only link allowed is {pay_link})")
    if MONEY.search(bare):
        problems.append("it states an amount of money (the only amount allowed is {amount})")
    if not offers_allowed and OFFER.search(bare):
        problems.append("it makes an offer the policy does not allow")
    if "{" in bare or "}" in bare:
        problems.append("it contains stray braces")
    length = filled_length(draft.body, filled_lengths or {})
    if length > LENGTH_LIMITS[channel]:
        problems.append(
            f"it is {length} characters long; {channel} allows {LENGTH_LIMITS[channel]}"
        )
    return problems


def filled_length(body: str, filled_lengths: dict[str, int]) -> int:
    """The body's length once each placeholder is replaced by a value of the given length."""
    return len(
        PLACEHOLDER.sub(lambda m: "x" * filled_lengths.get(m.group(1), len(m.group(0))), body)
    )
