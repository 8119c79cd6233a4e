"""``make demo``: one process with the dashboard, an RQ worker, and a Chargebee sandbox."""

from __future__ import annotations

import logging
import threading
import time

import httpx
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction

from dunning.embedded_worker import start_embedded_worker
from dunning.roles import roles_ensure
from sandbox.demo_business import seed_demo_business
from sandbox.server import SandboxServer
from sandbox.webhooks import WebhookDelivery

DEMO_PASSWORD = "dunwell-demo"
DEMO_USERS = [
    ("agent", "Alex", "Agent", "collections agent", False),
    ("manager", "Morgan", "Manager", "collections manager", False),
    ("admin", "Ada", "Admin", "admin", True),
]


def demo_users_ensure() -> None:
    roles_ensure()
    for username, first, last, role, staff in DEMO_USERS:
        user, _ = User.objects.update_or_create(
            username=username,
            defaults={
                "first_name": first,
                "last_name": last,
                "is_staff": staff,
                "email": f"{username}@dunwell.demo",
            },
        )
        user.set_password(DEMO_PASSWORD)
        user.save()
        user.groups.set([Group.objects.get(name=role)])


class Command(BaseCommand):
    help = "Run the Dunwell demo: dashboard, RQ worker and Chargebee sandbox in one process."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--sandbox-port", type=int, default=8111)
        parser.add_argument("--customers", type=int, default=60)
        parser.add_argument("--months", type=int, default=4)
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args, addr, port, sandbox_port, customers, months, seed, **options):
        # One line per webhook would bury the URL and logins; errors still show.
        logging.getLogger("django.server").setLevel(logging.WARNING)
        with transaction.atomic():
            demo_users_ensure()
        sandbox_server = SandboxServer(port=sandbox_port).start()
        settings.CHARGEBEE_API_BASE = sandbox_server.url
        settings.CHARGEBEE_API_KEY = sandbox_server.sandbox.api_key
        start_embedded_worker()
        base_url = f"http://{addr}:{port}"
        delivery = WebhookDelivery(
            url=f"{base_url}/webhooks/chargebee/",
            username=settings.CHARGEBEE_WEBHOOK_USERNAME,
            password=settings.CHARGEBEE_WEBHOOK_PASSWORD,
        )
        delivery.start()
        sandbox_server.sandbox.event_listeners.append(delivery.enqueue)
        threading.Thread(
            target=self._seed_when_up,
            args=(base_url, sandbox_server, delivery, customers, months, seed),
            daemon=True,
        ).start()
        self.stdout.write(self.style.SUCCESS(f"\nDunwell demo: {base_url}/"))
        self.stdout.write(f"Log in as agent / manager / admin, password {DEMO_PASSWORD}")
        self.stdout.write(
            f"Chargebee sandbox: {sandbox_server.url}/api/v2, "
            f"webhooks to {base_url}/webhooks/chargebee/\n"
        )
        call_command("runserver", f"{addr}:{port}", use_reloader=False, use_threading=True)

    def _seed_when_up(self, base_url, sandbox_server, delivery, customers, months, seed):
        for _ in range(200):
            try:
                httpx.get(f"{base_url}/login/", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        sandbox = sandbox_server.sandbox
        self.stdout.write(f"Simulating {months} months of a {customers}-customer business…")
        seed_demo_business(sandbox, customers=customers, months=months, seed=seed, end=time.time())
        sandbox.clock = time.time
        delivery.wait_idle(timeout=600)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data loaded: {len(sandbox.events)} Chargebee events delivered as webhooks."
            )
        )
