"""What the case page shows beside the AI summary: the customer's contact details and links
into Chargebee, promises to pay, follow-up tasks and payment plans, with their forms.

The case page is reachable only by people who work the case's team (``access``), so the
contact details reach agents of that team and managers, never another team's agents.
"""

from __future__ import annotations

from collections_desk.commitment_forms import PaymentPlanForm, PromiseForm, TaskForm
from collections_desk.manual_collection import REQUEST_PERMISSION
from collections_desk.models import Case, PaymentPlan, RecoveryBasis
from collections_desk.recovery_rates import recovery_rates
from dunning.decisions.labels import label
from dunning.sync.chargebee_links import chargebee_app_url

ADDRESS_LINES = ("company", "line1", "line2", "line3")


def billing_address_lines(address: dict) -> list[str]:
    """The billing address as it is written on an envelope."""
    lines = [address[key] for key in ADDRESS_LINES if address.get(key)]
    town = " ".join(address[k] for k in ("zip", "city") if address.get(k))
    region = address.get("state") or address.get("state_code") or ""
    lines += [line for line in (town, region, address.get("country", "")) if line]
    return lines


def recovery_explained(case: Case) -> str:
    """Where the case's expected recovery comes from, in one line for the page."""
    if case.recovery_basis == RecoveryBasis.MODEL:
        return "the model's score"
    rates = recovery_rates(now=case.updated_at)
    if case.recovery_basis == RecoveryBasis.DECLINE_HISTORY:
        known = rates.by_decline_category.get(case.decline_category)
        over = f" over {known.invoices:,} invoices" if known else ""
        category = label(case.decline_category, "category").lower()
        return f"no model score: the recovery rate of past invoices with a {category}{over}"
    if case.recovery_basis == RecoveryBasis.SEGMENT_HISTORY:
        known = rates.by_segment.get(case.segment)
        over = f" over {known.invoices:,} invoices" if known else ""
        segment = label(case.segment, "segment")
        return f"no model score: the recovery rate of the {segment} segment{over}"
    return "no model score and too little history: no recovery is assumed"


def case_commitments(*, case: Case, user, people) -> dict:
    customer = case.customer
    may_work = case.is_open
    plans = list(case.payment_plans.select_related("action", "invoice").prefetch_related("entries"))
    plan_going = any(
        p.status in (PaymentPlan.Status.PROPOSED, PaymentPlan.Status.ACTIVE) for p in plans
    )
    may_plan = may_work and user.has_perm(REQUEST_PERMISSION) and not plan_going
    return {
        "contact": {
            "email": customer.email,
            "phone": customer.phone or customer.billing_address.get("phone", ""),
            "address": billing_address_lines(customer.billing_address),
        },
        "chargebee_customer_url": chargebee_app_url(kind="customer", cb_id=customer.cb_id),
        "recovery_explained": recovery_explained(case),
        "promises": case.promises.select_related("invoice", "created_by")[:10],
        "tasks": case.tasks.select_related("assignee").order_by("done_at", "due_on", "id")[:20],
        "plans": plans,
        "promise_form": PromiseForm(case=case) if may_work else None,
        "task_form": TaskForm(people=people) if may_work else None,
        "plan_form": PaymentPlanForm(case=case) if may_plan else None,
    }
