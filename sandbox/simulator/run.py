"""Running a simulated business: a year of history in seconds, then "live" for the demo."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from sandbox.simulator import parameters as p
from sandbox.simulator.card_requests import CardRequests
from sandbox.simulator.engine import Simulator
from sandbox.store import Sandbox


def simulate_history(
    sandbox: Sandbox,
    *,
    customers: int,
    months: int,
    seed: int,
    end: float,
    dunning: str = "custom",
    on_day: Callable[[int], None] | None = None,
) -> Simulator:
    """Build the business at ``end - months`` and play it forward to ``end``."""
    start = end - months * 30 * p.DAY
    simulator = Simulator(sandbox, seed=seed, start=start, dunning=dunning)
    simulator.populate(customers=customers)
    if on_day is None:
        simulator.run_until(end)
        return simulator
    day = start
    while day < end:
        day = min(day + p.DAY, end)
        simulator.run_until(day)
        on_day(1)
    return simulator


class LiveRunner:
    """Keeps a simulated business moving at about ``events_per_minute`` Chargebee events.

    Simulated time runs faster than the wall clock (renewals, retries and card updates come
    minutes apart instead of days) while events carry the real time, so Dunwell sees a busy
    business happening now.
    """

    def __init__(
        self,
        simulator: Simulator,
        *,
        events_per_minute: float,
        history_events: int,
        history_seconds: float,
        tick_seconds: float = 2.0,
    ):
        natural_rate = max(
            history_events / max(history_seconds, 1.0), 1e-6
        )  # events per sim second
        self.speed = (events_per_minute / 60.0) / natural_rate  # sim seconds per real second
        self.simulator = simulator
        # Customers asked to update their card (Dunwell's pre-dunning requests) may do so.
        self.card_requests = CardRequests(simulator, seed=int(simulator.sandbox.id_token, 16))
        self.tick_seconds = tick_seconds
        self.stop_event = threading.Event()
        self.thread: threading.Thread | None = None

    def tick(self) -> int:
        sim = self.simulator
        self.card_requests.react()
        return sim.run_until(sim.clock.now + self.speed * self.tick_seconds)

    def start(self) -> LiveRunner:
        self.simulator.sandbox.clock = time.time
        self.thread = threading.Thread(target=self._run, name="simulator-live", daemon=True)
        self.thread.start()
        return self

    def _run(self) -> None:
        while not self.stop_event.wait(self.tick_seconds):
            self.tick()

    def stop(self) -> None:
        self.stop_event.set()
        if self.thread:
            self.thread.join(timeout=5)


def outcome_summary(simulator: Simulator) -> list[str]:
    """What the history holds, beside the published figures it was calibrated to."""
    o = simulator.outcomes
    low, high = p.TARGET_RECOVERY_RATE[simulator.dunning_mode]
    declines = ", ".join(f"{k} {v}" for k, v in o.declines.most_common())
    return [
        f"customers {len(simulator.customers)}, renewals {o.renewals}, "
        f"Chargebee events {len(simulator.sandbox.events)}",
        f"first-attempt failure rate {o.failure_rate:.1%} (published: 8.3% [R22])",
        f"recovered under Chargebee {simulator.dunning_mode} dunning {o.recovery_rate:.1%} "
        f"(target {low:.0%}-{high:.0%})",
        f"recoveries within 10 days {o.share_recovered_within_10_days:.1%} ([R7]: 90%)",
        f"declines: {declines}",
        f"end of dunning: {dict(o.final_actions)}; card updates: {dict(o.card_updates)}",
        f"gateway outages {len(o.outages)}, support tickets {len(simulator.sandbox.tickets)}",
    ]
