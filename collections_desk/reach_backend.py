"""The desk's team rule as an authentication backend: an agent reaches the customers whose
case (open, else latest) is in one of their teams or in the shared pool, or who have no
case yet; a person who works all cases reaches everyone.

Listed in ``AUTHENTICATION_BACKENDS``; ``dunning.governance.reach`` asks it on behalf of the
layers below the desk.
"""

from __future__ import annotations

from django.db.models import QuerySet

from collections_desk import access
from dunning.governance.reach import REACH_INVOICE
from dunning.models import Action, Invoice


class TeamReachBackend:
    """Answers object permissions about reach; authenticates no one."""

    def authenticate(self, request, **credentials):
        return None

    def has_perm(self, user_obj, perm: str, obj=None) -> bool:
        if perm == REACH_INVOICE and isinstance(obj, Invoice):
            return access.invoice_in_reach(user=user_obj, invoice=obj)
        return False

    def action_work_refusal(self, *, user, action: Action) -> str:
        allowed, why = access.user_may_work_action(user=user, action=action)
        return "" if allowed else why

    def rows_in_reach(self, *, user, rows: QuerySet, customer_field: str) -> QuerySet:
        return access.rows_in_reach(user=user, rows=rows, customer_field=customer_field)
