"""What the policy returns: the plan of one decision, its proposed actions, and the
guardrails and scorers it was decided under (plain values, so a replay reads the same)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from dunning.decisions.learning.retry_prior import PRIOR_VERSION_LABEL
from dunning.decisions.timing.retry_timing import (
    RetryScorer,
)
from dunning.models.decisions import AutomationMode

RULES_ONLY = f"rules and the {PRIOR_VERSION_LABEL} (no trained model)"


@dataclass(frozen=True)
class GuardrailSnapshot:
    version: int | None = None
    segment_modes: dict = field(default_factory=dict)
    default_mode: str = AutomationMode.SHADOW
    review_threshold: float = 0.20
    review_amount: int = 100_000
    review_ltv: int = 1_000_000
    contacts_per_week: int = 3
    confidence_floor: float = 0.05
    max_retries: int = 4
    dunning_window_days: int = 28
    # Share of auto-mode retries placed at a random allowed slot (exploration.py).
    exploration_share: float = 0.05

    @classmethod
    def of(cls, policy) -> GuardrailSnapshot:
        return cls(**{name: getattr(policy, name) for name in cls.__dataclass_fields__})

    def mode_for(self, segment: str) -> str:
        return self.segment_modes.get(segment, self.default_mode)

    def exploration_for(self, mode: str) -> float:
        """Only auto explores: in shadow and approve mode every retry is the best guess."""
        return self.exploration_share if mode == AutomationMode.AUTO else 0.0


@dataclass(frozen=True)
class Scorers:
    recovery: Callable[[dict], float] | None = None
    recovery_label: str = ""
    retry: RetryScorer | None = None

    @property
    def version_label(self) -> str:
        labels = [label for label in (self.recovery_label, self.retry_label) if label]
        return " + ".join(labels) or RULES_ONLY

    @property
    def retry_label(self) -> str:
        return self.retry.version_label if self.retry is not None else ""


@dataclass(frozen=True)
class ProposedAction:
    kind: str
    scheduled_for: datetime | None
    reasoning: str
    channel: str = ""
    params: dict = field(default_factory=dict)
    needs_approval: bool = False
    risk: str = "low"
    approval_reason: str = ""
    propensity: float | None = None  # a retry: P(the policy picks its slot)
    explored: bool = False  # a retry placed at a random allowed slot


@dataclass(frozen=True)
class Plan:
    segment: str
    mode: str
    recovery_score: float | None
    retry_score: float | None
    model_version: str
    rules_fired: list[str]
    reasoning: str
    actions: list[ProposedAction]
    explanation: dict
