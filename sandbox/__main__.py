"""The sandbox as its own process: ``python -m sandbox --port 8111 --customers 2500 ...``.

It simulates the business's history, serves Chargebee's API (so Dunwell can backfill through
``Event.list``), and on ``POST /__sandbox/live`` keeps the business running, sending each
new event to Dunwell as a webhook. Running apart from Dunwell gives it its own core, as a
real Chargebee would have. Standard library, httpx and this package only: no Django.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time

from sandbox.offline import offline_routes
from sandbox.server import SandboxServer
from sandbox.simulator.delivery import DisorderlyDelivery
from sandbox.simulator.run import LiveRunner, outcome_summary, simulate_history
from sandbox.webhooks import WebhookDelivery


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--port", type=int, default=8111)
    parser.add_argument("--customers", type=int, default=300)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dunning", choices=["custom", "smart"], default="custom")
    parser.add_argument("--api-key", default=os.getenv("CHARGEBEE_API_KEY", "test_sandbox_key"))
    parser.add_argument("--webhook-url", default="http://127.0.0.1:8000/webhooks/chargebee/")
    parser.add_argument(
        "--webhook-username", default=os.getenv("CHARGEBEE_WEBHOOK_USERNAME", "chargebee")
    )
    parser.add_argument(
        "--webhook-password",
        default=os.getenv("CHARGEBEE_WEBHOOK_PASSWORD", "sandbox-webhook-secret"),
    )
    parser.add_argument("--events-per-minute", type=float, default=40.0)
    args = parser.parse_args(argv)

    server = SandboxServer(port=args.port)
    server.sandbox.api_key = args.api_key
    status = {"state": "simulating", "day": 0, "days": args.months * 30, "events": 0, "summary": []}
    live: dict[str, LiveRunner] = {}

    simulator_box: dict = {}

    def start_live(params: dict) -> dict:
        if status["state"] == "simulating":
            return {"state": "simulating"}
        if "runner" not in live:
            delivery = WebhookDelivery(
                url=args.webhook_url, username=args.webhook_username, password=args.webhook_password
            )
            delivery.start()
            server.sandbox.event_listeners.append(
                DisorderlyDelivery(delivery.enqueue, seed=args.seed)
            )
            simulator = simulator_box["simulator"]
            live["runner"] = LiveRunner(
                simulator,
                events_per_minute=args.events_per_minute,
                history_events=len(server.sandbox.events),
                history_seconds=end - simulator.start,
            ).start()
            status["state"] = "live"
        return {"state": status["state"]}

    def on_day(days: int) -> None:
        status["day"] += days

    server.add_route(
        "GET", "/__sandbox/status", lambda params: {**status, "events": len(server.sandbox.events)}
    )
    server.add_route("POST", "/__sandbox/live", start_live)
    offline_routes(server)
    server.start()
    end = time.time()
    simulator_box["simulator"] = simulator = simulate_history(
        server.sandbox,
        customers=args.customers,
        months=args.months,
        seed=args.seed,
        end=end,
        dunning=args.dunning,
        on_day=on_day,
    )
    status.update(state="ready", summary=outcome_summary(simulator))

    print(
        json.dumps({"ready": True, "url": server.url, "events": len(server.sandbox.events)}),
        flush=True,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(1):
            pass
    except KeyboardInterrupt:
        pass
    if "runner" in live:
        live["runner"].stop()
    server.stop()
    sys.exit(0)


if __name__ == "__main__":
    main()
