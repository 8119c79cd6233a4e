"""``make demo``: the dashboard, an RQ worker, and a simulated Chargebee business."""

from __future__ import annotations

import atexit
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone
from tqdm import tqdm

from analytics.at_risk.campaigns import CampaignRefused, campaign_launch
from analytics.experiments.baseline import baseline_recovery_rate
from analytics.experiments.service import VariantSpec, experiment_create, experiment_start
from collections_desk.teams import demo_teams_ensure
from dunning.decisions.policy_settings.guardrails import guardrails_active, guardrails_update
from dunning.governance.roles import roles_ensure
from dunning.models import ModelVersion
from dunning.pipeline.embedded_worker import start_embedded_worker
from dunning.pipeline.shadow_replay import shadow_period_replay, shadow_replay_candidates
from dunning.pipeline.triggers import decisions_for_open_invoices, invoices_undecided
from dunning.sync.backfill import events_backfill

DEMO_PASSWORD = "dunwell-demo"
SHADOW_PERIOD_DAYS = 60
DEMO_SEGMENT_MODES = {"self_serve": "auto", "growth": "approve", "enterprise": "approve"}
DEMO_USERS = [
    ("agent", "Alex", "Agent", "collections agent", False),
    ("manager", "Morgan", "Manager", "collections manager", False),
    ("admin", "Ada", "Admin", "admin", True),
]


def _exit_on_sigterm(signum, frame) -> None:
    raise SystemExit(128 + signum)


def _stop(process: subprocess.Popen) -> None:
    """Stop a child the demo started, and wait for it (SIGKILL if it will not go)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


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
    help = (
        "Run the Dunwell demo. The Chargebee sandbox (its own process) simulates a year of a "
        "subscription business; Dunwell backfills it through Event.list, then the business "
        "keeps running and sends webhooks while the dashboard is open."
    )

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--sandbox-port", type=int, default=8111)
        parser.add_argument("--customers", type=int, default=2000)
        parser.add_argument("--months", type=int, default=12)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--dunning", choices=["custom", "smart"], default="custom")
        parser.add_argument("--events-per-minute", type=float, default=40.0)
        parser.add_argument("--no-server", action="store_true", help="load the data, then exit")

    def handle(self, *args, **o):
        started = time.monotonic()
        base_url = f"http://{o['addr']}:{o['port']}"
        sandbox_url = f"http://127.0.0.1:{o['sandbox_port']}"
        # SIGTERM ends the demo as Ctrl-C does: through the exit handlers, which stop the
        # sandbox process (the default SIGTERM action would leave it running).
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
        sandbox = self._start_sandbox(o, sandbox_url, base_url)
        self.stdout.write("Starting a fresh demo (the previous demo's data is cleared).")
        self._fresh_database()
        demo_users_ensure()
        demo_teams_ensure()
        settings.CHARGEBEE_API_BASE = sandbox_url
        settings.CHARGEBEE_REQUESTS_PER_MINUTE = 60_000  # the local sandbox has no such limit
        status = self._wait_for_history(sandbox_url, sandbox)
        for line in status["summary"]:
            self.stdout.write("  " + line)
        with tqdm(total=status["events"], desc="Dunwell backfills it", unit="event") as bar:
            result = events_backfill(
                since=datetime(2000, 1, 1, tzinfo=UTC), inline=True, on_page=bar.update
            )
        self.stdout.write(
            f"  {result.stored} events stored and processed: {dict(result.processed)}; "
            f"loaded in {time.monotonic() - started:.0f} s"
        )
        self._decide(admin=User.objects.get(username="admin"))
        if o["no_server"]:
            return
        start_embedded_worker()
        threading.Thread(
            target=self._go_live_when_up, args=(base_url, sandbox_url), daemon=True
        ).start()
        self.stdout.write(self.style.SUCCESS(f"\nDunwell demo: {base_url}/"))
        self.stdout.write(f"Log in as agent, manager or admin; the password is {DEMO_PASSWORD}")
        self.stdout.write(
            f"Chargebee sandbox: {sandbox_url}/api/v2. The business keeps running: about "
            f"{o['events_per_minute']:g} Chargebee events a minute arrive as webhooks.\n"
        )
        call_command(
            "runserver", f"{o['addr']}:{o['port']}", use_reloader=False, use_threading=True
        )

    def _decide(self, *, admin: User) -> None:
        """Train on the year just loaded, roll out as a cautious team would, decide what's open."""
        call_command("train_recovery_model", stdout=self.stdout)
        self._shadow_period()
        guardrails_update(
            changes={"segment_modes": DEMO_SEGMENT_MODES, "default_mode": "shadow"},
            user=admin,
            note="demo rollout: self-serve runs low-risk actions, larger accounts need approval",
        )
        self._experiment(manager=User.objects.get(username="manager"))
        with tqdm(total=invoices_undecided().count(), desc="Deciding the open invoices") as bar:
            decided = decisions_for_open_invoices(on_decision=lambda: bar.update(1))
        self.stdout.write(f"  {decided} invoices in dunning now have a decision")
        # The Forecast page's comparison with what happened needs past forecasts.
        call_command("forecast_backfill", days=60, stdout=self.stdout)
        self._pre_dunning(manager=User.objects.get(username="manager"))

    def _pre_dunning(self, *, manager: User) -> None:
        """A manager's card-update campaign: results arrive as the live business renews."""
        call_command("train_renewal_risk", stdout=self.stdout)
        try:
            campaign = campaign_launch(
                user=manager,
                name="Renewals at risk in the next 30 days (demo)",
                within_days=30,
                min_score=0.25,
            )
        except CampaignRefused as refused:
            self.stdout.write(f"  no pre-dunning campaign: {refused}")
            return
        members, held = campaign.members.count(), campaign.members.filter(group="holdout").count()
        self.stdout.write(
            f"  pre-dunning campaign: {members} renewal{'s' if members != 1 else ''} at risk, "
            f"{held} of them held out; results arrive as they renew"
        )

    def _experiment(self, *, manager: User) -> None:
        """A running tone experiment: the live failures from now on are assigned to it (the
        history was not run under its variants, so it starts with no results)."""
        baseline = baseline_recovery_rate() or 0.4
        experiment = experiment_create(
            user=manager,
            name="Friendly vs firm tone (self-serve)",
            hypothesis="A firm, direct first email gets self-serve customers to fix their "
            "card sooner than today's friendly one.",
            segment="self_serve",
            baseline_rate=round(baseline, 3),
            minimum_effect=0.1 if baseline < 0.85 else -0.1,
            alpha=0.05,
            power=0.8,
            window_days=28,
            variants=[
                VariantSpec("control", "Today's friendly tone", {}, is_control=True),
                VariantSpec("firm", "Firm tone", {"tone": "firm"}),
            ],
        )
        experiment_start(experiment=experiment, user=manager)
        self.stdout.write(
            f"  experiment {experiment.name!r} running: baseline {baseline:.0%}, "
            f"{experiment.planned_per_variant} outcomes planned per variant"
        )

    def _shadow_period(self) -> None:
        """Shadow mode over the recent past, before the rollout: the evidence the Rollout and
        AI impact pages show. Only history the recovery model did not learn from (its
        hold-out) and whose dunning window has passed, so every outcome is known."""
        until = timezone.now() - timedelta(days=guardrails_active().dunning_window_days)
        since = until - timedelta(days=SHADOW_PERIOD_DAYS)
        model = ModelVersion.objects.filter(kind="recovery", active=True).defer("artifact").first()
        holdout_from = (model.metrics.get("holdout") or {}).get("from") if model else None
        if holdout_from:
            since = max(since, datetime.fromisoformat(holdout_from))
        total = shadow_replay_candidates(since=since, until=until).count()
        with tqdm(total=total, desc="Shadow period (Dunwell decides, Chargebee acts)") as bar:
            decided = shadow_period_replay(
                since=since, until=until, on_decision=lambda: bar.update(1)
            )
        self.stdout.write(
            f"  {decided} first failures from {since:%d %b} to {until:%d %b} decided in shadow mode"
        )

    def _fresh_database(self) -> None:
        # A new trail starts: the old checkpoints would read as a truncated one.
        checkpoints = Path(settings.AUDIT_CHECKPOINT_PATH)
        if checkpoints.exists():
            stamp = timezone.now().strftime("%Y%m%dT%H%M%S")
            checkpoints.rename(checkpoints.with_name(f"{checkpoints.name}.before-reset-{stamp}"))
        if connection.vendor == "sqlite":
            # Deleting a big SQLite file is far quicker than DELETE FROM every table.
            path = Path(connection.settings_dict["NAME"])
            connection.close()
            for suffix in ("", "-wal", "-shm"):
                path.with_name(path.name + suffix).unlink(missing_ok=True)
            call_command("migrate", interactive=False, verbosity=0)
        else:
            with connection.cursor() as cursor:  # the audit trail refuses TRUNCATE otherwise
                cursor.execute("SET dunwell.allow_audit_purge = 'on'")
            call_command("flush", interactive=False, verbosity=0)

    def _start_sandbox(self, o: dict, sandbox_url: str, base_url: str) -> subprocess.Popen:
        command = [
            sys.executable,
            "-m",
            "sandbox",
            "--port",
            str(o["sandbox_port"]),
            "--customers",
            str(o["customers"]),
            "--months",
            str(o["months"]),
            "--seed",
            str(o["seed"]),
            "--dunning",
            o["dunning"],
            "--api-key",
            settings.CHARGEBEE_API_KEY,
            "--webhook-url",
            f"{base_url}/webhooks/chargebee/",
            "--webhook-username",
            settings.CHARGEBEE_WEBHOOK_USERNAME,
            "--webhook-password",
            settings.CHARGEBEE_WEBHOOK_PASSWORD,
            "--events-per-minute",
            str(o["events_per_minute"]),
        ]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL)  # noqa: S603 - our own argv
        atexit.register(_stop, process)
        return process

    def _status(self, sandbox_url: str) -> dict | None:
        try:
            response = httpx.get(
                f"{sandbox_url}/__sandbox/status", auth=(settings.CHARGEBEE_API_KEY, ""), timeout=2
            )
        except httpx.HTTPError:
            return None
        return response.json() if response.status_code == 200 else None

    def _wait_for_history(self, sandbox_url: str, process: subprocess.Popen) -> dict:
        with tqdm(desc="The sandbox simulates the business", unit="day") as bar:
            while True:
                if process.poll() is not None:
                    raise CommandError(
                        f"The Chargebee sandbox stopped (exit {process.returncode}); is port "
                        f"{sandbox_url.rsplit(':', 1)[1]} free?"
                    )
                status = self._status(sandbox_url)
                if status:
                    bar.total = status["days"]
                    bar.update(status["day"] - bar.n)
                    if status["state"] != "simulating":
                        return status
                time.sleep(0.3)

    def _go_live_when_up(self, base_url: str, sandbox_url: str) -> None:
        for _ in range(300):
            try:
                httpx.get(f"{base_url}/login/", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        httpx.post(
            f"{sandbox_url}/__sandbox/live", auth=(settings.CHARGEBEE_API_KEY, ""), timeout=5
        )
