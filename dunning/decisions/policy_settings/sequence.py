"""The default dunning sequence: a versioned settings document the policy reads.

What the customer contact after a decline looks like: which channel first, the tone of the
drafted message per segment, when the retry goes (the retry model's best slot, or a fixed
delay after the decline) and whether an offer is proposed alongside (an offer is always an
approved action: see ``ALWAYS_NEEDS_APPROVAL``). The defaults are what Dunwell did before the
document existed. Experiments (``analytics.experiments``) try variants of it on new
failures; promoting a winner saves a new version of this document (admins only, audited).
"""

from __future__ import annotations

from dataclasses import dataclass

from dunning.decisions.policy_settings.segments import SEGMENTS
from dunning.governance.config_versions import ConfigKind, config_current, config_kind_register

CHANNELS = ("email", "sms", "in_app")
TONES = ("friendly", "formal", "firm")
TIMINGS = ("best_slot", "fixed_delay")
# Named offers a variant may propose; each is an OFFER action a person must approve.
OFFERS = {
    "none": "No offer",
    "extra_week": "Seven more days to pay, service uninterrupted",
    "discount_10": "10% off this invoice if paid within the window",
}
MIN_DELAY_HOURS, MAX_DELAY_HOURS = 1, 24 * 14
DEFAULT_TONE = {"self_serve": "friendly", "growth": "formal", "enterprise": "formal"}


def sequence_defaults() -> dict:
    return {
        "channel": "email",
        "tone": dict(DEFAULT_TONE),
        "timing": "best_slot",
        "delay_hours": 48,
        "offer": "none",
    }


def sequence_problems(data: dict) -> list[str]:
    problems = []
    if data.get("channel") not in CHANNELS:
        problems.append(f"channel must be one of {', '.join(CHANNELS)}")
    tone = data.get("tone")
    if not isinstance(tone, dict) or set(tone) != set(SEGMENTS):
        problems.append(f"tone must name a tone for each of {', '.join(SEGMENTS)}")
    elif any(value not in TONES for value in tone.values()):
        problems.append(f"a tone is one of {', '.join(TONES)}")
    if data.get("timing") not in TIMINGS:
        problems.append(f"timing must be one of {', '.join(TIMINGS)}")
    delay = data.get("delay_hours")
    if not isinstance(delay, int) or not MIN_DELAY_HOURS <= delay <= MAX_DELAY_HOURS:
        problems.append(f"delay_hours must be {MIN_DELAY_HOURS} to {MAX_DELAY_HOURS}")
    if data.get("offer") not in OFFERS:
        problems.append(f"offer must be one of {', '.join(OFFERS)}")
    unknown = set(data) - set(sequence_defaults())
    if unknown:
        problems.append(f"unknown settings: {', '.join(sorted(unknown))}")
    return problems


SEQUENCE = config_kind_register(
    ConfigKind(
        key="dunning_sequence",
        label="Default dunning sequence",
        change_permission="analytics.change_dunning_sequence",
        defaults=sequence_defaults,
        problems=sequence_problems,
    )
)


@dataclass(frozen=True)
class SequenceParams:
    """The sequence as it applies to one invoice (its segment's tone, the variant's overrides)."""

    channel: str = "email"
    tone: str = ""  # "" : the drafter's tone for the segment
    timing: str = "best_slot"
    delay_hours: int = 48
    offer: str = "none"
    source: str = "default"  # "default vN" or "experiment <name> / variant <key>"

    def as_dict(self) -> dict:
        return {
            "channel": self.channel,
            "tone": self.tone,
            "timing": self.timing,
            "delay_hours": self.delay_hours,
            "offer": self.offer,
            "source": self.source,
        }


def sequence_merge(*, document: dict, overrides: dict, segment: str | None = None) -> dict:
    """The document with a variant's overrides; a variant's single tone applies to
    ``segment`` only when the experiment is limited to one, else to every segment."""
    merged = {**document, "tone": dict(document["tone"])}
    for name, value in overrides.items():
        if name == "tone":
            for seg in [segment] if segment else SEGMENTS:
                merged["tone"][seg] = value
        elif name in merged:
            merged[name] = value
    return merged


def sequence_for_segment(*, document: dict, segment: str, source: str) -> SequenceParams:
    # The drafters' own tone for the segment is left unsaid, so a default decision's actions
    # are exactly what they were before the document existed.
    tone = document["tone"].get(segment, "")
    return SequenceParams(
        channel=document["channel"],
        tone="" if tone == DEFAULT_TONE.get(segment) else tone,
        timing=document["timing"],
        delay_hours=int(document["delay_hours"]),
        offer=document["offer"],
        source=source,
    )


def sequence_current() -> dict:
    return config_current(kind=SEQUENCE)
