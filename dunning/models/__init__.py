from dunning.models.audit import AuditEntry
from dunning.models.events import ChargebeeEvent, EventState, RejectedWebhook
from dunning.models.learning import ModelVersion
from dunning.models.mirror import Customer, Invoice, PaymentSource, Subscription, Transaction

__all__ = [
    "AuditEntry",
    "ChargebeeEvent",
    "Customer",
    "EventState",
    "Invoice",
    "ModelVersion",
    "PaymentSource",
    "RejectedWebhook",
    "Subscription",
    "Transaction",
]
