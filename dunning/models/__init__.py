from dunning.models.audit import AuditEntry
from dunning.models.config import ConfigVersion
from dunning.models.connectors import ConnectorEvent, ConnectorHealth
from dunning.models.decisions import (
    ALWAYS_NEEDS_APPROVAL,
    Action,
    ActionApproval,
    ActionKind,
    ActionState,
    AutomationMode,
    Decision,
    GatewayPause,
    GuardrailPolicy,
)
from dunning.models.events import ChargebeeEvent, EventState, RejectedWebhook
from dunning.models.failures import InvoiceFailure, InvoiceFirstAttempt
from dunning.models.holds import InvoiceHold
from dunning.models.learning import ModelVersion
from dunning.models.messages import (
    Channel,
    Delivery,
    MessageEvent,
    OutboundMessage,
    PromptTemplate,
    Purpose,
)
from dunning.models.mirror import Customer, Invoice, PaymentSource, Subscription, Transaction
from dunning.models.onboarding import BackfillRun
from dunning.models.schedule import PeriodicRun
from dunning.models.signals import CrmAccount, SupportTicket, UsageMonth
from dunning.models.versioned import VersionedDocument

__all__ = [
    "ALWAYS_NEEDS_APPROVAL",
    "Action",
    "ActionApproval",
    "ActionKind",
    "ActionState",
    "AuditEntry",
    "AutomationMode",
    "BackfillRun",
    "Channel",
    "ChargebeeEvent",
    "ConfigVersion",
    "ConnectorEvent",
    "ConnectorHealth",
    "CrmAccount",
    "Customer",
    "Decision",
    "Delivery",
    "EventState",
    "GatewayPause",
    "GuardrailPolicy",
    "Invoice",
    "InvoiceFailure",
    "InvoiceFirstAttempt",
    "InvoiceHold",
    "MessageEvent",
    "ModelVersion",
    "OutboundMessage",
    "PaymentSource",
    "PeriodicRun",
    "PromptTemplate",
    "Purpose",
    "RejectedWebhook",
    "Subscription",
    "SupportTicket",
    "Transaction",
    "UsageMonth",
    "VersionedDocument",
]
