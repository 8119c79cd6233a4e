from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from dunning.management.dates import utc_day_option
from dunning.models import BackfillRun
from dunning.sync.site_connect import (
    backfill_run,
    site_check,
    webhook_endpoint_ensure,
    webhook_url_default,
)


class Command(BaseCommand):
    help = (
        "Connect Dunwell to its Chargebee site: check the site and API key (read-only), show "
        "the site's currencies and what can be read of its dunning, register Dunwell's "
        "webhook endpoint, and replay history with --backfill-since. See "
        "docs/chargebee_connect.md."
    )

    def add_arguments(self, parser):
        parser.add_argument("--site", help="the site to try (default: CHARGEBEE_SITE)")
        parser.add_argument("--api-key", help="the key to try (default: CHARGEBEE_API_KEY)")
        parser.add_argument(
            "--webhook-url", help="where Chargebee should send events (default: PUBLIC_BASE_URL)"
        )
        parser.add_argument(
            "--check-only", action="store_true", help="only check; change nothing on the site"
        )
        parser.add_argument("--backfill-since", help="YYYY-MM-DD (UTC): replay events since")

    def handle(self, *args, site, api_key, webhook_url, check_only, backfill_since, **options):
        since = (
            utc_day_option(backfill_since, option="--backfill-since") if backfill_since else None
        )
        check = site_check(site=site, api_key=api_key)
        if not check.ok:
            raise CommandError(check.problem)
        self.stdout.write(self.style.SUCCESS(f"Site {check.site!r}: the key works."))
        self.stdout.write(f"  Product catalog {check.product_catalog_version or 'unknown'}")
        for currency in check.currencies:
            marks = " (base)" if currency["is_base_currency"] else ""
            marks += "" if currency["enabled"] else " (disabled)"
            self.stdout.write(f"  Currency {currency['currency_code']}{marks}")
        more = "+" if check.more_in_dunning else ""
        self.stdout.write(f"  Invoices in dunning now: {check.invoices_in_dunning}{more}")
        codes = ", ".join(check.reason_codes_seen) or "none seen"
        self.stdout.write(f"  Reason codes on recent cancellations: {codes}")
        for note in check.notes:
            self.stdout.write(f"  Note: {note}")
        if check_only:
            return
        if site or api_key:
            raise CommandError(
                "--site/--api-key only try a pair: set CHARGEBEE_SITE and CHARGEBEE_API_KEY, then "
                "run again to register the webhook (or add --check-only)."
            )
        endpoint = webhook_endpoint_ensure(
            url=webhook_url or webhook_url_default(), actor_label="chargebee_connect"
        )
        verb = "Created" if endpoint.created else "Updated"
        self.stdout.write(
            self.style.SUCCESS(
                f"{verb} webhook endpoint {endpoint.endpoint_id}: {endpoint.url}, Basic auth, "
                f"{len(endpoint.enabled_events)} event types."
            )
        )
        if since is None:
            self.stdout.write("Replay history with --backfill-since YYYY-MM-DD when ready.")
            return
        run = BackfillRun.objects.create(since=since)
        with tqdm(
            desc="Backfilling events", unit="event", disable=options["verbosity"] == 0
        ) as bar:
            run = backfill_run(run_id=run.pk, on_page=bar.update)
        if run.state != BackfillRun.State.DONE:
            raise CommandError(f"Backfill failed: {run.error}")
        self.stdout.write(
            f"Backfill: fetched {run.fetched}, {run.stored} new, {run.duplicates} already "
            f"stored, {run.invalid} invalid."
        )
