"""Bulk actions: each item goes through the same service and checks as a single one.

Nothing is approved or claimed "as a batch": one refusal does not stop the others, and the
report names every item that was refused and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.http import Http404

from collections_desk.access import action_for_user, case_for_user
from collections_desk.cases import CaseConflict, case_assign, case_claim
from dunning.actions.state_machine import ActionConflict, action_approve
from dunning.governance.audit import audit_record
from dunning.models import Action, ActionState


@dataclass
class BulkReport:
    done: list[int] = field(default_factory=list)
    waiting: list[int] = field(default_factory=list)  # approved once, a second person must too
    refused: list[tuple[int, str]] = field(default_factory=list)


def actions_bulk_approve(
    *, user, shown: dict[int, str], reason: str = "", total: str = ""
) -> BulkReport:
    """Approve low-risk actions, each bound to the fingerprint the person saw.

    ``reason`` and ``total`` (the confirmation's words) go to the audit trail with the ids.
    """
    report = BulkReport()
    for pk, fingerprint in shown.items():
        try:
            action = action_for_user(user=user, pk=pk)
            if action.risk != Action.Risk.LOW:
                raise PermissionDenied("only low-risk actions are approved in bulk")
            action_approve(action=action, user=user, fingerprint=fingerprint)
        except Http404:
            report.refused.append((pk, "no such action in your inbox"))
        except (PermissionDenied, ActionConflict) as refused:
            report.refused.append((pk, str(refused)))
        else:
            (report.done if action.state != ActionState.PROPOSED else report.waiting).append(pk)
    if reason:
        audit_record(
            action="actions.bulk_approved",
            actor=user,
            data={
                "reason": reason,
                "confirmed": len(shown),
                "total": total,
                "approved": report.done,
                "waiting": report.waiting,
                "refused": dict(report.refused),
            },
        )
    return report


def cases_bulk(*, user, case_ids: list[int], operation: str, assignee=None) -> BulkReport:
    report = BulkReport()
    for pk in case_ids:
        try:
            case = case_for_user(user=user, pk=pk)
            if operation == "claim":
                case_claim(case=case, user=user)
            else:
                case_assign(case=case, user=user, assignee=assignee)
        except Http404:
            report.refused.append((pk, "no such case in your queue"))
        except (PermissionDenied, CaseConflict, ValueError) as refused:
            report.refused.append((pk, str(refused)))
        else:
            report.done.append(pk)
    return report
