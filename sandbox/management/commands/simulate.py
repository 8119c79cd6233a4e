"""``manage.py simulate``: a seeded subscription business behind the Chargebee sandbox."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from sandbox.server import SandboxServer
from sandbox.simulator.delivery import DisorderlyDelivery
from sandbox.simulator.run import LiveRunner, outcome_summary, simulate_history
from sandbox.webhooks import WebhookDelivery


class Command(BaseCommand):
    help = (
        "Simulate a subscription business in the Chargebee sandbox and deliver its events to "
        "Dunwell: as webhooks to a running Dunwell, or by backfilling this database."
    )

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=300)
        parser.add_argument("--months", type=int, default=12)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--dunning", choices=["custom", "smart"], default="custom")
        parser.add_argument(
            "--deliver",
            choices=["webhooks", "backfill", "none"],
            default="backfill",
            help="webhooks: POST each event to --webhook-url (with Chargebee's duplicates and "
            "disorder); backfill: load this database through Event.list; none: only simulate",
        )
        parser.add_argument("--webhook-url", default="http://127.0.0.1:8000/webhooks/chargebee/")
        parser.add_argument("--port", type=int, default=0, help="sandbox port (0: any free port)")
        parser.add_argument("--live", action="store_true", help="keep the business running")
        parser.add_argument("--events-per-minute", type=float, default=30.0)

    def handle(self, *args, **o):
        if o["customers"] < 1 or o["months"] < 1:
            raise CommandError("--customers and --months must be at least 1")
        quiet = o["verbosity"] == 0
        server = SandboxServer(port=o["port"]).start()
        sandbox = server.sandbox
        self.stdout.write(f"Chargebee sandbox at {server.url}/api/v2")
        delivery = None
        if o["deliver"] == "webhooks" or o["live"]:
            delivery = self._webhooks(o["webhook_url"], o["seed"])
        if o["deliver"] == "webhooks":
            sandbox.event_listeners.append(delivery)
        end = time.time()
        with tqdm(total=o["months"] * 30, desc="Simulating", unit="day", disable=quiet) as bar:
            simulator = simulate_history(
                sandbox,
                customers=o["customers"],
                months=o["months"],
                seed=o["seed"],
                end=end,
                dunning=o["dunning"],
                on_day=bar.update,
            )
        if isinstance(delivery, DisorderlyDelivery):
            delivery.flush()
        for line in outcome_summary(simulator):
            self.stdout.write("  " + line)
        if o["deliver"] == "backfill":
            self._backfill(server, quiet=quiet)
        if o["live"]:
            if delivery not in sandbox.event_listeners:
                sandbox.event_listeners.append(delivery)
            runner = LiveRunner(
                simulator,
                events_per_minute=o["events_per_minute"],
                history_events=len(sandbox.events),
                history_seconds=end - simulator.start,
            ).start()
            self.stdout.write(
                f"Live: about {o['events_per_minute']:g} events a minute. Ctrl-C stops."
            )
            try:
                while True:
                    time.sleep(1)
            except KeyboardInterrupt:
                runner.stop()
        server.stop()

    def _webhooks(self, url: str, seed: int) -> DisorderlyDelivery:
        target = WebhookDelivery(
            url=url,
            username=settings.CHARGEBEE_WEBHOOK_USERNAME,
            password=settings.CHARGEBEE_WEBHOOK_PASSWORD,
        )
        return DisorderlyDelivery(target.deliver, seed=seed)

    def _backfill(self, server: SandboxServer, *, quiet: bool) -> None:
        from dunning.sync.backfill import events_backfill

        settings.CHARGEBEE_API_BASE = server.url
        settings.CHARGEBEE_REQUESTS_PER_MINUTE = 60_000  # the local sandbox has no such limit
        settings.CHARGEBEE_API_KEY = server.sandbox.api_key
        from datetime import UTC, datetime

        with tqdm(
            total=len(server.sandbox.events),
            desc="Backfilling into Dunwell",
            unit="event",
            disable=quiet,
        ) as bar:
            result = events_backfill(
                since=datetime(2000, 1, 1, tzinfo=UTC), inline=True, on_page=bar.update
            )
        self.stdout.write(f"  Dunwell stored {result.stored} events: {dict(result.processed)}")
