"""The fault scenarios: each injects one real fault and returns a measured ``Row``.

``tests/faults/test_*.py`` assert on the rows; ``bench/faults.py`` runs them bigger and
prints the table.
"""

from tests.faults.scenarios.access import team_scoping
from tests.faults.scenarios.audit import audit_tampering
from tests.faults.scenarios.chargebee import chargebee_storm, worker_sigkill_mid_charge
from tests.faults.scenarios.chargebee_site import (
    site_connect_mistakes,
    writes_within_chargebee_limits,
)
from tests.faults.scenarios.core import Env, Row
from tests.faults.scenarios.deliveries import duplicate_deliveries, out_of_order_events
from tests.faults.scenarios.fuzz import fuzzed_webhooks
from tests.faults.scenarios.hostile import hostile_json
from tests.faults.scenarios.injection import prompt_injection
from tests.faults.scenarios.mirroring import partial_mirroring
from tests.faults.scenarios.outages import (
    database_down_at_ingest,
    redis_down_at_ingest,
    redis_down_during_processing,
    redis_down_under_the_schedule,
)

SCENARIOS = (
    duplicate_deliveries,
    out_of_order_events,
    redis_down_at_ingest,
    redis_down_during_processing,
    redis_down_under_the_schedule,
    database_down_at_ingest,
    worker_sigkill_mid_charge,
    chargebee_storm,
    fuzzed_webhooks,
    hostile_json,
    prompt_injection,
    partial_mirroring,
    writes_within_chargebee_limits,
    site_connect_mistakes,
    audit_tampering,
    team_scoping,
)

__all__ = ["SCENARIOS", "Env", "Row"]
