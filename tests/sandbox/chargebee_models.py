"""Check JSON against Chargebee's own definitions, as the installed ``chargebee`` SDK has them.

Responses: every key must be a field of the SDK's response model (``models/<r>/responses.py``),
recursively into nested models; a value must never be JSON null (Chargebee leaves a key out
instead); an enum-valued field must hold a member of the SDK's ``Enum`` class for it
(``models/<r>/operations.py``, or ``models/enums.py``); and the fields Chargebee always sends
(``sandbox/spec/chargebee_constraints.json``, from chargebee-node's types) must be there.

Requests: each parameter must be declared by the operation's ``TypedDict`` params, every
``Required`` one present, enum values members of their ``Enum``, and lengths within the
limits in the same constraints file (from chargebee-node's ``src/schema/*.schema.ts``).
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import re
import typing
from enum import Enum
from pathlib import Path
from urllib.parse import parse_qs

from chargebee.models import enums

CONSTRAINTS = json.loads(
    (Path(__file__).parents[2] / "sandbox" / "spec" / "chargebee_constraints.json").read_text()
)
ALWAYS_SENT: dict[str, list[str]] = CONSTRAINTS["always_sent"]
REQUEST_LIMITS: dict[str, dict[str, dict]] = CONSTRAINTS["request_limits"]


def camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _module(resource: str, kind: str):
    return importlib.import_module(f"chargebee.models.{resource}.{kind}")


def response_model(resource: str) -> type:
    return getattr(_module(resource, "responses"), f"{camel(resource)}Response")


def operations_class(resource: str) -> type:
    return getattr(_module(resource, "operations"), camel(resource))


def _enum_classes(resource: str) -> dict[str, type[Enum]]:
    """Field name -> the SDK's Enum for it: the resource's own (``Invoice.DunningStatus``
    for ``dunning_status``), then the shared ones in ``enums.py`` (``PriceType``)."""
    found: dict[str, type[Enum]] = {}
    for name, value in vars(enums).items():
        if isinstance(value, type) and issubclass(value, Enum) and value is not Enum:
            found[snake(name)] = value
    ops = operations_class(resource)
    for name, value in vars(ops).items():
        if isinstance(value, type) and issubclass(value, Enum):
            found[snake(name)] = value
    return found


def _model_of(annotation) -> type | None:
    """The nested response model an annotation names (``List[LineItemResponse]`` too)."""
    if typing.get_origin(annotation) in (list, list):
        args = typing.get_args(annotation)
        annotation = args[0] if args else None
    if isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
        return annotation
    return None


# Fields whose values Chargebee documents as open strings although an Enum of the same name
# exists elsewhere in the SDK (e.g. a transaction's ``gateway`` includes "not_applicable").
OPEN_FIELDS = {"transaction": {"gateway"}}


def response_problems(resource: str, obj: dict, *, path: str | None = None) -> list[str]:
    """What in ``obj`` (a ``resource`` as JSON) Chargebee would never send."""
    path = path or resource
    problems = _model_problems(
        response_model(resource),
        obj,
        path,
        _enum_classes(resource),
        open_fields=OPEN_FIELDS.get(resource, set()),
    )
    required = list(ALWAYS_SENT.get(resource, []))
    if resource == "subscription" and "subscription_items" not in obj:
        required += ALWAYS_SENT["subscription_pc1"]
    problems += [f"{path}.{key} is always sent but missing" for key in required if key not in obj]
    return problems


def _model_problems(
    model: type,
    obj: dict,
    path: str,
    enum_for: dict,
    *,
    open_fields: set[str] = frozenset(),
    top: bool = True,
) -> list[str]:
    fields = {f.name: f.type for f in dataclasses.fields(model) if f.name != "raw_data"}
    problems = []
    for key, value in obj.items():
        where = f"{path}.{key}"
        if key == "object":
            continue  # every object names its own type
        if key not in fields:
            problems.append(f"{where} is not a field of {model.__name__}")
            continue
        if value is None:
            problems.append(f"{where} is null (Chargebee leaves the key out)")
            continue
        nested = _model_of(fields[key])
        if nested is not None:
            items = value if isinstance(value, list) else [value]
            for index, item in enumerate(items):
                if not isinstance(item, dict):
                    problems.append(f"{where}[{index}] is not an object")
                    continue
                problems += _model_problems(nested, item, f"{where}[{index}]", {}, top=False)
            continue
        enum = enum_for.get(key) if top and key not in open_fields else None
        if enum is not None and isinstance(value, str):
            allowed = {member.value for member in enum}
            if value not in allowed:
                problems.append(f"{where}={value!r} is not in {enum.__qualname__}")
    return problems


# --- requests ---------------------------------------------------------------------------
# (method, path pattern) -> (resource, SDK method): the operations Dunwell and the sandbox use.
OPERATIONS = [
    ("POST", r"/invoices/[^/]+/collect_payment", "invoice", "collect_payment"),
    ("POST", r"/invoices/[^/]+/pause_dunning", "invoice", "pause_dunning"),
    ("POST", r"/invoices/[^/]+/resume_dunning", "invoice", "resume_dunning"),
    ("POST", r"/invoices/[^/]+/stop_dunning", "invoice", "stop_dunning"),
    ("POST", r"/invoices/[^/]+/write_off", "invoice", "write_off"),
    ("POST", r"/invoices/[^/]+/void", "invoice", "void_invoice"),
    ("POST", r"/invoices/[^/]+/record_payment", "invoice", "record_payment"),
    ("POST", r"/subscriptions/[^/]+/cancel_for_items", "subscription", "cancel_for_items"),
    ("POST", r"/comments", "comment", "create"),
    ("POST", r"/hosted_pages/collect_now", "hosted_page", "collect_now"),
    ("POST", r"/hosted_pages/update_payment_method", "hosted_page", "update_payment_method"),
    ("POST", r"/webhook_endpoints", "webhook_endpoint", "create"),
    ("POST", r"/webhook_endpoints/[^/]+", "webhook_endpoint", "update"),
    ("GET", r"/invoices", "invoice", "list"),
    ("GET", r"/subscriptions", "subscription", "list"),
    ("GET", r"/transactions", "transaction", "list"),
    ("GET", r"/payment_sources", "payment_source", "list"),
    ("GET", r"/events", "event", "list"),
    ("GET", r"/webhook_endpoints", "webhook_endpoint", "list"),
    ("GET", r"/currencies/list", "currency", "list"),
]


def operation_of(method: str, path: str) -> tuple[str, str] | None:
    path = path.removeprefix("/api/v2")
    for op_method, pattern, resource, name in OPERATIONS:
        if op_method == method and re.fullmatch(pattern, path):
            return resource, name
    return None


def _params_class(resource: str, operation: str):
    ops = operations_class(resource)
    hints = typing.get_type_hints(
        getattr(ops, operation), localns=vars(ops) | {camel(resource): ops}
    )
    return hints.get("params")


def _resolve(annotation, ops: type):
    """Strip Required/NotRequired/List and resolve "Invoice.X" forward references."""
    while typing.get_origin(annotation) in (typing.Required, typing.NotRequired, list):
        annotation = typing.get_args(annotation)[0]
    if isinstance(annotation, typing.ForwardRef):
        annotation = annotation.__forward_arg__
    if isinstance(annotation, str):
        annotation = getattr(ops, annotation.split(".", 1)[1])
    return annotation


def _required_keys(typed_dict) -> set[str]:
    return set(getattr(typed_dict, "__required_keys__", set()))


def request_problems(method: str, path: str, params: dict[str, list[str]]) -> list[str]:
    """What in a request Chargebee's definitions for the operation do not allow."""
    operation = operation_of(method, path)
    if operation is None:
        return [f"{method} {path} is not an operation the conformance table knows"]
    resource, name = operation
    ops = operations_class(resource)
    typed = _params_class(resource, name)
    problems: list[str] = []
    if typed is None:
        return [f"{resource}.{name} takes no parameters, got {sorted(params)}"] if params else []
    declared = typing.get_type_hints(typed, localns=vars(ops), include_extras=True)
    top_keys = {re.split(r"\[", key, maxsplit=1)[0] for key in params}
    for key in _required_keys(typed) - top_keys:
        problems.append(f"{resource}.{name}: required {key} missing")
    for key, values in params.items():
        top, _, rest = key.partition("[")
        if method == "GET" and rest:  # list filters: customer_id[is], sort_by[asc]
            if top not in declared:
                problems.append(f"{resource}.{name}: unknown filter {key}")
            continue
        if top not in declared:
            problems.append(f"{resource}.{name}: unknown parameter {key}")
            continue
        annotation = _resolve(declared[top], ops)
        inner = rest.rstrip("]").split("[")[0]
        if inner and not inner.isdigit():  # customer[id]; enabled_events[0] is a list item
            inner_hints = typing.get_type_hints(annotation, localns=vars(ops))
            if inner not in inner_hints:
                problems.append(f"{resource}.{name}: unknown parameter {key}")
                continue
            annotation = _resolve(inner_hints[inner], ops)
        if isinstance(annotation, type) and issubclass(annotation, Enum):
            allowed = {member.value for member in annotation}
            problems += [
                f"{resource}.{name}: {key}={v!r} not in {annotation.__qualname__}"
                for v in values
                if v not in allowed
            ]
        limits = REQUEST_LIMITS.get(f"{resource}.{name}", {}).get(key, {})
        for value in values:
            if "max_length" in limits and len(value) > limits["max_length"]:
                problems.append(
                    f"{resource}.{name}: {key} is {len(value)} characters, "
                    f"over Chargebee's {limits['max_length']}"
                )
            if "min" in limits and value.lstrip("-").isdigit() and int(value) < limits["min"]:
                problems.append(f"{resource}.{name}: {key}={value} below {limits['min']}")
    return problems


def form_params(body: str) -> dict[str, list[str]]:
    return parse_qs(body, keep_blank_values=True)
