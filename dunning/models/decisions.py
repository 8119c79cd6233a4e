"""Decisions about failed payments, the actions they propose, and the guardrails over them.

A Decision is made once per triggering event (a failed payment, an invoice entering
dunning, a new card) from what was known at the event's ``occurred_at``. It proposes
Actions; each Action moves through proposed -> approved/rejected -> scheduled ->
executed/failed (or is cancelled when it no longer makes sense, e.g. the invoice was paid).
State changes happen only in ``dunning.actions.state_machine`` with a conditional UPDATE.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from dunning.models.versioned import VersionedDocument


class AutomationMode(models.TextChoices):
    SHADOW = "shadow", "Shadow: log only"
    APPROVE = "approve", "Approve: a human approves every action"
    AUTO = "auto", "Auto: low-risk actions run, the rest wait for approval"


class Decision(models.Model):
    class Trigger(models.TextChoices):
        PAYMENT_FAILED = "payment_failed", "Payment failed"
        DUNNING_STARTED = "dunning_started", "Invoice entered dunning"
        PAYMENT_METHOD_CHANGED = "payment_method_changed", "Payment method changed"
        OPEN_INVOICE = "open_invoice", "Open invoice reviewed"
        MANUAL = "manual", "Asked for by a person"
        CASE_RESOLVED = "case_resolved", "Case resolved"
        PRE_DUNNING = "pre_dunning", "Pre-dunning campaign (renewal at risk)"

    invoice = models.ForeignKey(
        "Invoice", to_field="cb_id", on_delete=models.PROTECT, related_name="decisions"
    )
    customer = models.ForeignKey(
        "Customer", to_field="cb_id", on_delete=models.PROTECT, related_name="decisions"
    )
    # The invoice's failure summary (none before its first failed payment), reached through
    # ``invoice_id``: no column and no constraint, the summary is rebuilt from the mirror.
    # Dashboards join it once per row where a correlated subquery was repeated at each use.
    failure = models.ForeignObject(
        "InvoiceFailure",
        on_delete=models.DO_NOTHING,
        from_fields=["invoice"],
        to_fields=["invoice_cb_id"],
        null=True,
        related_name="decisions",
    )
    trigger = models.CharField(max_length=30, choices=Trigger.choices)
    # The event that caused it; with ``trigger`` it makes a decision idempotent.
    trigger_event = models.ForeignKey(
        "ChargebeeEvent", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Only what was known at this moment was used (a replay of history decides the same).
    as_of = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    recovery_score = models.FloatField(null=True, blank=True)  # P(invoice recovered at all)
    retry_score = models.FloatField(null=True, blank=True)  # P(the chosen retry succeeds)
    model_version = models.CharField(max_length=120)  # "recovery v3 + retry v2" or rules-only
    segment = models.CharField(max_length=40)
    mode = models.CharField(max_length=10, choices=AutomationMode.choices)
    guardrail_version = models.PositiveIntegerField(null=True, blank=True)
    features = models.JSONField(default=dict)  # the snapshot the models saw
    rules_fired = models.JSONField(default=list)
    reasoning = models.TextField()  # one plain sentence a person can read
    explanation = models.JSONField(default=dict)  # slots considered, guardrail notes, signals

    class Meta:
        ordering = ["-as_of", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["trigger_event", "invoice"],
                condition=models.Q(trigger_event__isnull=False),
                name="one_decision_per_event_and_invoice",
            )
        ]
        indexes = [
            models.Index(fields=["invoice", "as_of"], name="decision_invoice_asof"),
            # The decision list filters by mode and pages by time.
            models.Index(fields=["mode", "as_of"], name="decision_mode_asof"),
        ]

    def __str__(self) -> str:
        return f"decision {self.pk} on {self.invoice_id}"


class ActionKind(models.TextChoices):
    TAKE_OVER = "take_over", "Pause Chargebee's dunning (Dunwell schedules retries)"
    RETRY = "retry", "Retry the payment"
    MESSAGE = "message", "Message the customer"
    PAYMENT_METHOD_LINK = "payment_method_link", "Send a payment-method update link"
    AUTHENTICATION_LINK = "authentication_link", "Send a link to authenticate the payment"
    ESCALATE = "escalate", "Escalate to collections"
    GATEWAY_PAUSE = "gateway_pause", "Hold retries: the gateway is down"
    KEEP_CHARGEBEE_SCHEDULE = "keep_chargebee_schedule", "Keep Chargebee's own schedule"
    # End of dunning and money-moving actions: always need an approved human.
    CANCEL_SUBSCRIPTION = "cancel_subscription", "Cancel the subscription"
    WRITE_OFF = "write_off", "Write off the invoice"
    VOID = "void", "Void the invoice"
    STOP_DUNNING = "stop_dunning", "Stop dunning: leave the invoice unpaid"
    REFUND = "refund", "Refund"
    OFFER = "offer", "Make an offer"
    # A person records a payment made outside Chargebee (bank transfer, cheque).
    RECORD_PAYMENT = "record_payment", "Record an offline payment"
    # A person proposes splitting the invoice into instalments (Chargebee payment schedules).
    PAYMENT_PLAN = "payment_plan", "Split the invoice into instalments (payment plan)"


# Never run without an approval by a permitted person, whatever the automation mode.
ALWAYS_NEEDS_APPROVAL = frozenset(
    {
        ActionKind.CANCEL_SUBSCRIPTION,
        ActionKind.WRITE_OFF,
        ActionKind.VOID,
        ActionKind.STOP_DUNNING,
        ActionKind.REFUND,
        ActionKind.OFFER,
        ActionKind.PAYMENT_PLAN,
    }
)


class ActionState(models.TextChoices):
    PROPOSED = "proposed", "Proposed"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    SCHEDULED = "scheduled", "Scheduled"
    EXECUTED = "executed", "Executed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class Action(models.Model):
    class Risk(models.TextChoices):
        LOW = "low", "Low"
        HIGH = "high", "High"

    decision = models.ForeignKey(Decision, on_delete=models.PROTECT, related_name="actions")
    invoice = models.ForeignKey(
        "Invoice", to_field="cb_id", on_delete=models.PROTECT, related_name="actions"
    )
    customer = models.ForeignKey(
        "Customer", to_field="cb_id", on_delete=models.PROTECT, related_name="actions"
    )
    kind = models.CharField(max_length=30, choices=ActionKind.choices)
    channel = models.CharField(max_length=20, blank=True)  # email, sms, in_app
    scheduled_for = models.DateTimeField(null=True, blank=True, db_index=True)
    params = models.JSONField(default=dict, blank=True)
    reasoning = models.TextField(blank=True)

    mode = models.CharField(max_length=10, choices=AutomationMode.choices)
    risk = models.CharField(max_length=5, choices=Risk.choices, default=Risk.LOW)
    needs_approval = models.BooleanField(default=True)
    approval_reason = models.CharField(max_length=300, blank=True)

    state = models.CharField(
        max_length=10, choices=ActionState.choices, default=ActionState.PROPOSED, db_index=True
    )
    state_changed_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    # A fingerprint of kind, time, channel and params as shown when it was approved: if any
    # of them changes afterwards, the approval no longer holds.
    approved_fingerprint = models.CharField(max_length=64, blank=True)
    rejection_reason = models.TextField(blank=True)
    # The last person who changed what the action does (text, channel, time) before approval:
    # they may not approve it themselves.
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    edited_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Execution (dunning/execution): a worker claims a scheduled action before running it; a
    # claim older than the executor's timeout belongs to a dead worker. ``next_attempt_at``
    # postpones a run (Chargebee unavailable, gateway paused, delivery deferred) without
    # touching ``scheduled_for``, which the approval's fingerprint covers.
    claimed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # A retry: the probability that the policy picks its slot, and whether it was placed at
    # a random allowed slot (dunning/decisions/timing/exploration.py); off-policy estimates
    # use them.
    propensity = models.FloatField(null=True, blank=True)
    explored = models.BooleanField(default=False)

    class Meta:
        ordering = ["scheduled_for", "id"]
        indexes = [
            models.Index(fields=["state", "scheduled_for"], name="action_state_due"),
            # The approval inbox's order over what waits for a person: its first page is read
            # from the index instead of sorting every waiting action.
            models.Index(
                fields=["risk", "scheduled_for", "id"],
                condition=models.Q(state="proposed", needs_approval=True),
                name="action_waiting_inbox",
            ),
        ]
        permissions = [
            ("approve_action", "Can approve or reject a proposed action"),
            ("approve_high_risk_action", "Can approve high-risk and high-value actions"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.invoice_id} ({self.state})"

    @property
    def idempotency_key(self) -> str:
        return f"dunwell-action-{self.pk}"


class ActionApproval(models.Model):
    """One person's approval of one version (fingerprint) of an action.

    Above ``TWO_APPROVERS_FROM_AMOUNT`` an action is scheduled only when two different
    people have approved the same fingerprint; an edit starts the count again.
    """

    action = models.ForeignKey(Action, on_delete=models.PROTECT, related_name="approvals")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    fingerprint = models.CharField(max_length=64)
    # What the person was shown, kept with the fingerprint: the action in words and money,
    # and the message as drafted or edited (placeholders as they are filled at send time).
    shown_text = models.TextField(blank=True)
    # The invoice's amount due as shown (minor units): a replay of a run that reached
    # Chargebee checks the approval against it, not against what that run collected.
    shown_amount_due = models.BigIntegerField(null=True, blank=True)
    shown_currency = models.CharField(max_length=3, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["action", "user", "fingerprint"], name="one_approval_per_person_and_version"
            )
        ]

    def __str__(self) -> str:
        return f"approval of action {self.action_id} by user {self.user_id}"


class GuardrailPolicy(VersionedDocument):
    """One version of the guardrails. Versions are never edited: a change adds a version.

    Money thresholds are in minor units of the invoice's currency (Dunwell does not convert
    currencies; a site with several currencies sets them for its main one).
    """

    version = models.PositiveIntegerField(unique=True)

    # segment -> mode; a segment missing here uses ``default_mode``.
    segment_modes = models.JSONField(default=dict, blank=True)
    default_mode = models.CharField(
        max_length=10, choices=AutomationMode.choices, default=AutomationMode.SHADOW
    )
    review_threshold = models.FloatField(default=0.20)  # recovery score below: a human looks
    review_amount = models.BigIntegerField(default=100_000)  # invoice amount at/above: review
    review_ltv = models.BigIntegerField(default=1_000_000)  # customer LTV at/above: review
    contacts_per_week = models.PositiveSmallIntegerField(default=3)
    confidence_floor = models.FloatField(default=0.05)  # no retry with a lower chance
    max_retries = models.PositiveSmallIntegerField(default=4)  # Dunwell retries per failure
    dunning_window_days = models.PositiveSmallIntegerField(default=28)
    # Share of auto-mode retries at a random allowed slot (0..0.2; shadow and approve: 0).
    exploration_share = models.FloatField(default=0.05)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["active"], condition=models.Q(active=True), name="one_active_guardrails"
            )
        ]
        permissions = [("change_guardrails", "Can edit guardrails and automation modes")]

    def __str__(self) -> str:
        return f"guardrails v{self.version}{' (active)' if self.active else ''}"

    def mode_for(self, segment: str) -> str:
        return self.segment_modes.get(segment, self.default_mode)


class GatewayPause(models.Model):
    """Retries on a gateway are held because it looks down; ``ended_at`` set on recovery."""

    gateway = models.CharField(max_length=50, db_index=True)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=300)
    end_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["gateway"],
                condition=models.Q(ended_at__isnull=True),
                name="one_open_pause_per_gateway",
            )
        ]

    def __str__(self) -> str:
        return f"{self.gateway} paused {self.started_at:%Y-%m-%d %H:%M}"
