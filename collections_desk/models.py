"""Teams, cases and notes: the collections desk's own tables.

A Case gathers one customer's unpaid invoices while a person has to look at them (an
escalation, or actions waiting for approval). A customer has at most one open case. Its
priority is stored and refreshed in SQL (``collections_desk.priority``) so the queue orders
50,000 open cases from an index. Who may see a case is decided per team with
django-guardian (``collections_desk.access``), never in a template.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models


class Team(models.Model):
    """A group of agents and the cases routed to it.

    Routing: a new case goes to the first team (lowest ``routing_order``) whose segments and
    countries match the customer; an empty list matches anything. Membership is the team's
    own auth group, which holds the guardian object permission on the team.
    """

    name = models.CharField(max_length=80, unique=True)
    group = models.OneToOneField(Group, on_delete=models.PROTECT, related_name="collections_team")
    routing_order = models.PositiveSmallIntegerField(default=100)
    segments = models.JSONField(default=list, blank=True)  # ["enterprise", "growth"]
    countries = models.JSONField(default=list, blank=True)  # ["DE", "AT"], ISO 3166 alpha-2

    class Meta:
        ordering = ["routing_order", "name"]
        permissions = [("work_team_cases", "Can see and act on this team's cases")]

    def __str__(self) -> str:
        return self.name

    @property
    def members(self):
        return self.group.user_set.all()


class CaseState(models.TextChoices):
    OPEN = "open", "Open"
    IN_PROGRESS = "in_progress", "In progress"
    ESCALATED = "escalated", "Escalated"
    # The customer promised to pay by a date: out of the working queue until then.
    PROMISED = "promised", "Promised to pay"
    RESOLVED = "resolved", "Resolved"


class ResolutionType(models.TextChoices):
    """Who resolved the case: the manual work Dunwell saved is the share resolved by itself."""

    AUTOMATIC = "automatic", "Resolved without a person"
    AGENT = "agent", "Worked by an agent"
    ESCALATED = "escalated", "Escalated"


# Not resolved: the customer still owes money.
OPEN_STATES = (CaseState.OPEN, CaseState.IN_PROGRESS, CaseState.ESCALATED, CaseState.PROMISED)
# What the queue shows unless asked otherwise (a promised case waits for its date).
QUEUE_STATES = (CaseState.OPEN, CaseState.IN_PROGRESS, CaseState.ESCALATED)
_OPEN = models.Q(state__in=["open", "in_progress", "escalated"])


class RecoveryBasis(models.TextChoices):
    """Where a case's expected recovery rate comes from."""

    MODEL = "model", "Model score"
    DECLINE_HISTORY = "decline_history", "History of this decline category"
    SEGMENT_HISTORY = "segment_history", "History of this segment"
    NONE = "", "No score and too little history"


class Case(models.Model):
    customer = models.ForeignKey(
        "dunning.Customer", to_field="cb_id", on_delete=models.PROTECT, related_name="cases"
    )
    invoices = models.ManyToManyField("dunning.Invoice", related_name="cases")
    team = models.ForeignKey(
        Team, on_delete=models.PROTECT, null=True, blank=True, related_name="cases"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="collections_cases",
    )
    state = models.CharField(max_length=12, choices=CaseState.choices, default=CaseState.OPEN)
    reason = models.CharField(max_length=300)  # why it is here, in one line
    latest_decision = models.ForeignKey(
        "dunning.Decision", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    # Copied from the mirror and the latest decision at each sync, so the queue filters and
    # orders without joining anything but the customer, team and assignee.
    currency = models.CharField(max_length=3, blank=True)
    amount_due = models.BigIntegerField(default=0)  # minor units, all its unpaid invoices
    lifetime_value = models.BigIntegerField(default=0)
    recovery_score = models.FloatField(null=True, blank=True)  # the model's, when it scored
    # The rate expected_recovery uses: the model's score, else a historical recovery rate
    # (``collections_desk.recovery_rates``), else none (and expected_recovery is 0).
    recovery_rate = models.FloatField(null=True, blank=True)
    recovery_basis = models.CharField(max_length=20, choices=RecoveryBasis.choices, blank=True)
    expected_recovery = models.BigIntegerField(default=0)  # amount_due x recovery_rate
    # The oldest unpaid invoice's due date: the ageing bucket (0-30, 31-60, 61-90, 90+ days).
    oldest_due_at = models.DateTimeField(null=True, blank=True)
    # Set when a promise to pay on the case was broken; raises the priority until cleared.
    promise_broken_at = models.DateTimeField(null=True, blank=True)
    segment = models.CharField(max_length=40, blank=True)
    decline_category = models.CharField(max_length=100, blank=True)
    priority = models.FloatField(default=0)

    opened_at = models.DateTimeField()
    sla_due_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=300, blank=True)
    resolution_type = models.CharField(max_length=12, choices=ResolutionType.choices, blank=True)

    class Meta:
        ordering = ["-priority", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"],
                condition=~models.Q(state="resolved"),
                name="one_open_case_per_customer",
            )
        ]
        # The queue: open cases by priority, narrowed by team, assignee or a category.
        # Partial on the open states (the queue's own filter), so the order comes from the
        # index instead of a sort of every open case.
        indexes = [
            models.Index(fields=["-priority", "id"], condition=_OPEN, name="case_queue"),
            models.Index(fields=["team", "-priority"], condition=_OPEN, name="case_team_queue"),
            models.Index(
                fields=["assignee", "-priority"], condition=_OPEN, name="case_assignee_queue"
            ),
            models.Index(
                fields=["segment", "-priority"], condition=_OPEN, name="case_segment_queue"
            ),
            models.Index(
                fields=["decline_category", "-priority"], condition=_OPEN, name="case_decline_queue"
            ),
            # The cases resolved in a period, by segment and by who resolved them (the AI
            # impact page, the CSAT panel): read from the index, not every case.
            models.Index(
                fields=["resolved_at"],
                include=["id", "segment", "resolution_type"],
                condition=models.Q(state="resolved"),
                name="case_resolved_at",
            ),
        ]
        permissions = [
            ("work_all_cases", "Can see and act on every team's cases"),
            ("assign_case", "Can assign and reassign cases to others"),
        ]

    def __str__(self) -> str:
        return f"case {self.pk} ({self.customer_id})"

    @property
    def is_open(self) -> bool:
        return self.state != CaseState.RESOLVED


class CaseNote(models.Model):
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["case", "created_at"], name="casenote_case_time")]

    def __str__(self) -> str:
        return f"note {self.pk} on case {self.case_id}"


class EscalationTicket(models.Model):
    """An escalation handed to the CRM/task tool (or kept here by the local adapter)."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="escalations")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Delivery(models.TextChoices):
        SENT = "sent", "Sent"  # the tool took it (or the local adapter kept it)
        RETRYING = "retrying", "Retrying"  # the tool failed: the poll job sends it again
        FAILED = "failed", "Failed"  # given up after the last attempt

    adapter = models.CharField(max_length=40)  # "local", "http", "salesforce", ...
    external_id = models.CharField(max_length=200, blank=True)
    external_url = models.URLField(max_length=500, blank=True)
    summary = models.JSONField(default=dict)  # exactly what was sent
    delivery = models.CharField(max_length=10, choices=Delivery.choices, default=Delivery.SENT)
    attempts = models.PositiveSmallIntegerField(default=1)
    last_error = models.CharField(max_length=500, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    external_status = models.CharField(max_length=60, blank=True)  # the tool's own word
    external_closed = models.BooleanField(default=False)
    status_checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"escalation {self.pk} of case {self.case_id} ({self.adapter})"


class CsatAnswer(models.Model):
    """A customer's answer to the one-question survey sent when their case resolved.

    One per case (the signed link is single-use). Channel, tone (segment) and resolution
    type are copied from the survey and the case so the dashboard groups without joins.
    """

    case = models.OneToOneField(Case, on_delete=models.PROTECT, related_name="csat_answer")
    action = models.OneToOneField(
        "dunning.Action", on_delete=models.PROTECT, related_name="csat_answer"
    )
    score = models.PositiveSmallIntegerField()  # 1 (very unhappy) .. 5 (very happy)
    comment = models.TextField(blank=True)
    channel = models.CharField(max_length=20)
    segment = models.CharField(max_length=40, blank=True)
    resolution_type = models.CharField(max_length=12, choices=ResolutionType.choices, blank=True)
    answered_at = models.DateTimeField()

    class Meta:
        ordering = ["-answered_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(score__gte=1, score__lte=5), name="csat_score_1_to_5"
            )
        ]
        indexes = [models.Index(fields=["answered_at"], name="csat_answered_at")]

    def __str__(self) -> str:
        return f"CSAT {self.score} on case {self.case_id}"


class PromiseToPay(models.Model):
    """The customer said they will pay ``amount`` of an invoice by ``promised_for``.

    While active, Dunwell holds its retries and messages on the invoice (``hold``). After
    the date, ``collections_desk.promises.promises_check`` marks it kept (paid since, at
    least the amount) or broken (the case reopens with a higher priority).
    """

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        KEPT = "kept", "Kept"
        BROKEN = "broken", "Broken"
        WITHDRAWN = "withdrawn", "Replaced by a newer promise"

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="promises")
    invoice = models.ForeignKey("dunning.Invoice", on_delete=models.PROTECT, related_name="+")
    amount = models.BigIntegerField()  # minor units of the invoice's currency
    currency = models.CharField(max_length=3)
    promised_for = models.DateField()
    amount_paid_before = models.BigIntegerField()  # the invoice's amount_paid when promised
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    hold = models.OneToOneField(
        "dunning.InvoiceHold", on_delete=models.PROTECT, related_name="promise"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "promised_for"], name="promise_due")]

    def __str__(self) -> str:
        return f"promise on case {self.case_id} for {self.promised_for}"


class FollowUpTask(models.Model):
    """Something a person must do on a case by a day ("call back Tuesday")."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="tasks")
    title = models.CharField(max_length=200)
    due_on = models.DateField()
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="collections_tasks"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["due_on", "id"]
        indexes = [
            models.Index(
                fields=["assignee", "due_on"],
                condition=models.Q(done_at__isnull=True),
                name="task_open_due",
            ),
        ]

    def __str__(self) -> str:
        return f"task {self.pk} on case {self.case_id} due {self.due_on}"


class PaymentPlan(models.Model):
    """An invoice split into instalments: proposed by an agent, approved by a manager (its
    ``action``), written to Chargebee as a payment schedule by the executor."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", "Waiting for a manager's approval"
        ACTIVE = "active", "In Chargebee: instalments collected on their dates"
        COMPLETED = "completed", "Paid in full"
        REJECTED = "rejected", "Rejected"
        FAILED = "failed", "Chargebee refused it"
        CANCELLED = "cancelled", "Cancelled"

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="payment_plans")
    invoice = models.ForeignKey("dunning.Invoice", on_delete=models.PROTECT, related_name="+")
    action = models.OneToOneField(
        "dunning.Action", on_delete=models.PROTECT, related_name="payment_plan"
    )
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    instalments = models.PositiveSmallIntegerField()
    period = models.PositiveSmallIntegerField()
    period_unit = models.CharField(max_length=5)  # day, week, month (Chargebee's units)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PROPOSED)
    scheme_id = models.CharField(max_length=40, blank=True)
    schedule_id = models.CharField(max_length=40, blank=True)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status"], name="plan_status")]

    def __str__(self) -> str:
        return f"payment plan {self.pk} on {self.invoice_id}"


class PlanInstalment(models.Model):
    """One schedule entry of a plan, as Chargebee last reported it."""

    plan = models.ForeignKey(PaymentPlan, on_delete=models.CASCADE, related_name="entries")
    number = models.PositiveSmallIntegerField()  # 1, 2, …
    cb_entry_id = models.CharField(max_length=40)
    due_at = models.DateTimeField()
    amount = models.BigIntegerField()
    status = models.CharField(max_length=12)  # Chargebee's: posted, payment_due, paid

    class Meta:
        ordering = ["plan", "number"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "cb_entry_id"], name="one_row_per_entry")
        ]

    def __str__(self) -> str:
        return f"instalment {self.number} of plan {self.plan_id}"
