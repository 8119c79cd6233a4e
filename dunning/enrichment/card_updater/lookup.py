"""The question a decision asks: is there a newer card? Cached, bounded, never fatal.

Asked only when the network rules say the declined card must change (expired, lost or
stolen, "do not honour" with Mastercard advice 01/03/21: ``card_updater_wanted`` in
``dunning.decisions.rules.network_rules``): that is when Dunwell would otherwise ask the
customer. The adapter's timeout (``CARD_UPDATER_TIMEOUT_SECONDS``) bounds what it costs a
decision; an error or timeout is recorded and the decision goes on without it. Answers are
cached per payment source (``CARD_UPDATER_CACHE_SECONDS``, a failure for
``FAILURE_CACHE_SECONDS``) so a burst of decisions about one customer asks once.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from dunning.enrichment.card_updater.adapters import NoCardUpdater, card_updater_configured
from dunning.enrichment.card_updater.answers import CardUpdaterFinding, Outcome, UpdateKind
from dunning.models import PaymentSource

logger = logging.getLogger("dunwell.card_updater")

FAILURE_CACHE_SECONDS = 60


def _key(payment_source_id: str) -> str:
    return f"card-updater:{payment_source_id}"


def card_update_lookup(
    *, customer_id: str, payment_source: PaymentSource, failed_at: datetime
) -> CardUpdaterFinding:
    """Ask the configured updater about ``payment_source``; the answer as a decision records it.

    A cached answer given before ``failed_at`` is history (the updated card may itself have
    been declined since): the updater is asked again.
    """
    key = _key(payment_source.cb_id)
    cached = cache.get(key)
    if cached is not None and datetime.fromisoformat(cached["asked_at"]) >= failed_at:
        return CardUpdaterFinding.of({**cached, "cached": True})
    updater = card_updater_configured()
    finding = CardUpdaterFinding(
        outcome=Outcome.NOT_CONFIGURED,
        adapter=updater.name,
        payment_source_id=payment_source.cb_id,
        asked_at=timezone.now().isoformat(),
    )
    if isinstance(updater, NoCardUpdater):
        return finding
    seconds = settings.CARD_UPDATER_CACHE_SECONDS
    try:
        update = updater.lookup(customer_id=customer_id, payment_source=payment_source)
    except Exception as error:  # an updater outage never blocks a decision
        logger.warning("card updater failed for %s: %s", payment_source.cb_id, error)
        detail = (str(error) or type(error).__name__)[:200]
        finding = _with(finding, outcome=Outcome.UNAVAILABLE, detail=detail)
        seconds = FAILURE_CACHE_SECONDS
    else:
        if update is None:
            finding = _with(finding, outcome=Outcome.NO_UPDATE)
        else:
            outcome = Outcome.CLOSED if update.kind == UpdateKind.CLOSED else Outcome.UPDATED
            finding = _with(
                finding,
                outcome=outcome,
                reference=update.reference,
                kind=update.kind,
                last4=update.last4,
            )
    cache.set(key, finding.as_dict(), timeout=seconds)
    return finding


def _with(finding: CardUpdaterFinding, **changes) -> CardUpdaterFinding:
    return CardUpdaterFinding.of({**finding.as_dict(), **changes})


def card_update_forget(*, payment_source_id: str) -> None:
    """Drop a cached answer (the card changed in Chargebee: the old answer is history)."""
    cache.delete(_key(payment_source_id))
