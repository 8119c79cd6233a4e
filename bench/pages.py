"""Pages benchmark: server time of every page of the app, for each role, at full size.

Target (issue "Speed", item 3): every page under 300 ms server time, cold, at 1,000,000
transactions, 100,000 customers, 50,000 open cases and 50,000 waiting actions on PostgreSQL.

Seeds once into a kept database (``dunwell_pages``; ``--reseed`` drops and refills it) with
the other benches' seeds, each under its own id prefix so they share one database:
bench/dashboards.py's year of billing (its summary rebuild, decisions for what is open and
90 days of past forecasts), bench/desk.py's cases with one waiting action each and
bench/at_risk.py's renewals with their history. ``--scale`` shrinks every size (0.02 for a
quick try). Then one event, one experiment and one pre-dunning campaign, for their pages.

The pages are found in the URL conf (dunning, collections_desk and analytics, and the home
page); a route answering GET with 405 is an action, not a page. Routes with a pk get one from
the seeded rows. Each page is asked by each role (bench/desk.py's agent, manager and admin);
a page the role may not see (403) is listed, not timed. Requests go through Django's test
client (session, permissions, template). "cold": the cache, the loaded models and rates
cleared and a new database connection before each request (PostgreSQL's own buffers stay
warm); with ``--keep-connection`` the connection is kept, as production's ``CONN_MAX_AGE``
(60 s) keeps it between a worker's requests: a new backend's empty catalog caches cost a
page that reads many tables 20-50 ms. "warm": the same request repeated. p99 of a few runs
is their slowest. The process freezes its start-up heap first, as a web server's worker
does (config/wsgi.py).

    .venv/bin/python bench/pages.py [--scale 1] [--reseed] [--runs 5] [--only PATH] [--explain]
                                    [--keep-connection]

``DATABASE_URL`` defaults to postgres://postgres@127.0.0.1:5432/dunwell_pages.

Measured 2026-12-03 06:35 UTC on the shared 2-core machine (load average 2.2 2.8 2.1, a
test suite running beside it), PostgreSQL 15 with default settings (shared_buffers 128 MB,
work_mem 4 MB), 1,000,000 transactions, 100,000 customers, 857,628 invoices, 50,000 open
cases, 50,000 waiting actions, 54,788 decisions (seeded in 355 s), 5 requests each, ms
(p99 of 5 is the slowest; pages a role may not see, 403, left out: 29 of them):

    page                                     role          cold         warm        queries
                                                            p50   p99    p50   p99  cold/warm
    /                                        agent   200    212   233    177   189    12/12
    /                                        manager 200    212   227    169   187    12/12
    /                                        admin   200    223   260    183   196    12/12
    /dunning/events/                         admin   200     15    17     14    14    10/10
    /dunning/events/<int:pk>/                admin   200      9    19     10    13      6/6
    /dunning/audit/                          admin   200     22    23     21    25      7/7
    /dunning/status/                         admin   200     16    18     14    20      9/9
    /dunning/guardrails/                     manager 200     14    15     12    13    10/10
    /dunning/guardrails/                     admin   200     16    22     17    23    10/10
    /dunning/rollout/                        manager 200    672   730    625   632    13/13 MISS
    /dunning/rollout/                        admin   200    579   782    547   570    13/13 MISS
    /dunning/decisions/                      agent   200    350   387    362   380      8/8 MISS
    /dunning/decisions/                      manager 200     57    60     52    59      8/8
    /dunning/decisions/                      admin   200     48    67     57    73      8/8
    /dunning/offline-reminders/              manager 200     15    17     11    13      8/8
    /dunning/offline-reminders/              admin   200     13    20     14    16      8/8
    /dunning/outbox/                         agent   200    165   202    163   205    33/33
    /dunning/outbox/                         manager 200     77    83     52    66    33/33
    /dunning/outbox/                         admin   200     87   103     65    80    33/33
    /dunning/prompts/                        manager 200     15    18     13    15      8/8
    /dunning/prompts/                        admin   200     16    18     12    19      8/8
    /dunning/settings/channels/              manager 200     19    19     18    19    10/10
    /dunning/settings/channels/              admin   200     18    28     16    20    10/10
    /dunning/settings/people/                admin   200     20    24     19    21    20/20
    /dunning/settings/exchange-rates/        manager 200     18    22     11    15    10/10
    /dunning/settings/exchange-rates/        admin   200     14    21     11    12    10/10
    /dunning/settings/history/               admin   200     10    14      7     7      6/6
    /dunning/settings/chargebee/             admin   200     29    30     27    28      6/6
    /dunning/settings/connections/           manager 200     15    17     13    14    11/11
    /dunning/settings/connections/           admin   200     15    18     13    14    11/11
    /dunning/invoices/<str:cb_id>/decisions/ agent   200     31    37     26    27    16/16
    /dunning/invoices/<str:cb_id>/decisions/ manager 200     30    38     18    30    13/13
    /dunning/invoices/<str:cb_id>/decisions/ admin   200     23    24     18    19    13/13
    /collections/                            agent   200    137   200    122   124    12/12
    /collections/                            manager 200    143   183    127   299    13/13
    /collections/                            admin   200    149   172    181   193    13/13
    /collections/cases/<int:pk>/             agent   200     76    82     51    73    37/37
    /collections/cases/<int:pk>/             manager 200     62   118     45    49    38/38
    /collections/cases/<int:pk>/             admin   200     65    81     48    51    38/38
    /collections/tasks/                      agent   200     14    15      9    12      6/6
    /collections/tasks/                      manager 200     14    19      7    12      6/6
    /collections/tasks/                      admin   200     13    13     10    12      6/6
    /collections/survey/<str:token>/         agent   400      8     8      7     8      5/5
    /collections/survey/<str:token>/         manager 400      9    10      9    10      5/5
    /collections/survey/<str:token>/         admin   400      8    10      8     9      5/5
    /collections/approvals/                  agent   200    312   351    306   371    12/12 MISS
    /collections/approvals/                  manager 200    313   316    287   306    12/12 MISS
    /collections/approvals/                  admin   200    340   508    293   360    12/12 MISS
    /collections/approvals/bulk/             agent   200    261   487    219   435    10/10 p99
    /collections/approvals/bulk/             manager 200    253   375    188   398    10/10 p99
    /collections/approvals/bulk/             admin   200    227   423    223   436    10/10 p99
    /analytics/recovery/                     manager 200   1744  1911    231   242    35/12 MISS
    /analytics/recovery/                     admin   200   1604  1725    210   227    35/12 MISS
    /analytics/recovery/invoices/            agent   200    255   436    225   227      8/8 p99
    /analytics/recovery/invoices/            manager 200     21    23     18    19      8/8
    /analytics/recovery/invoices/            admin   200     28    29     21    25      8/8
    /analytics/cohorts/                      manager 200    173   182     10    15     10/5
    /analytics/cohorts/                      admin   200    183   220     10    11     10/5
    /analytics/experiments/                  manager 200     49    64     35    42    10/10
    /analytics/experiments/                  admin   200     46    57     38    41    10/10
    /analytics/experiments/<int:pk>/         manager 200     15    19     10    11    10/10
    /analytics/experiments/<int:pk>/         admin   200     19    26     16    18    10/10
    /analytics/impact/                       manager 200    942  1009     32    39     22/8 MISS
    /analytics/impact/                       admin   200    877   953     55    62     22/8 MISS
    /analytics/at-risk/                      manager 200    248   270    207   224      9/9
    /analytics/at-risk/                      admin   200    259   272    209   211      9/9
    /analytics/at-risk/campaigns/<int:pk>/   manager 200     67    70     58    61      9/9
    /analytics/at-risk/campaigns/<int:pk>/   admin   200     62   101     72    82      9/9
    /analytics/forecast/                     manager 200    721   771     13    14    18/10 MISS
    /analytics/forecast/                     admin   200    921   981     14    16    18/10 MISS
    /analytics/plotly.css                    agent   200      0     1      0     0      0/0
    /analytics/plotly.css                    manager 200      0     0      0     0      0/0
    /analytics/plotly.css                    admin   200      0     0      0     0      0/0

The survey answers 400: its link is not a real signed token (the page refusing it). 24
routes answer GET with 405 (actions).

Target NOT met by 6 pages (cold p50 over 300 ms), worst first:

- /analytics/recovery/ 1604-1744 ms (over by 1304-1444): the failure rate's denominator,
  each invoice's first payment attempt (``_first_attempts``), is an anti-join of the
  period's ~167,000 attempts against every payment attempt ever made, hashed (1,000,000
  rows, spilled to disk at 4 MB work_mem): ~550 ms, run twice (this period and the one
  before, for the comparison); the top debtors, grouped over the open invoices, add ~170-220
  ms. An index does not fix it (with a covering partial index on (invoice_id, date, cb_id)
  and the plan forced onto it, the anti-join took ~370 ms instead of ~390-470): the first
  attempt wants a kept summary, as ``InvoiceFailure`` is for failures (since kept: see
  "Recovery, after" below).
- /analytics/impact/ 877-942 ms (over by 577-642): the outcome of each decision
  (``shadow.with_outcome``) is a correlated subquery on the failure summary that the SQL
  repeats at every use of the recovered and settled flags; three queries over ~54,000
  decisions take 170, 165 and 274 ms (the shadow comparison, its totals, the calibration
  buckets).
- /analytics/forecast/ 721-921 ms (over by 421-621): the grouped forecast over the 50,102
  open failed invoices asks each one's latest decision five times (its score for the
  expected sum, twice for the variance and once for the fallback count; its segment):
  EXPLAIN shows five subplans of 50,102 loops, ~600 ms of the page.
- /dunning/rollout/ 579-672 ms (over by 279-372), as slow warm (nothing cached): the same
  repeated outcome subqueries of the shadow comparison (288 + 189 ms).
- /collections/approvals/ 312-340 ms (over by 12-40): the inbox's grouped counts over every
  waiting action (bench/desk.py).
- /dunning/decisions/ as agent 350 ms (over by 50; managers 57): the team filter, "the
  customer's latest case has no team or one of mine", a subquery written twice per decision,
  in the count and in the count by mode (169 + 152 ms).

Only their slowest run over: /collections/approvals/bulk/ (p50 227-261, p99 375-487) and
/analytics/recovery/invoices/ as agent (p50 255, p99 436). Warm, every page but the
rollout and the agent's inbox (306) is under 300 ms at p50.

Recovery, after the first payment attempts were kept (``InvoiceFirstAttempt``, dunning 0035;
filled once here, 737,628 rows in 20-31 s, when a kept database has none) and the top
debtors read a partial index of owing invoices (dunning 0036), ``--only
/analytics/recovery``, ms, 5 requests each, all on 2026-12-03. The machine was shared with
other sessions' tests and benches: the unchanged /analytics/recovery/invoices/ as agent is
given as a gauge of that load.

    measured              load average    role     cold p50   p99   warm p50   gauge
    06:53 UTC, before     1.3 1.8 2.1     manager      1332  1362        172     243
                                          admin        1298  1337        165
    07:17 UTC, after      2.4 3.5 3.4     manager       414   438         85     253
                                          admin         417   421         87
    07:19 UTC, after      2.2 3.1 3.3     manager       704   725        159     427
                                          admin         613   643        147
    07:19 UTC, after      3.6 3.4 3.3     manager       698   754        159     284
                                          admin         636   837        128

At a like load (the gauge at 243 and 253) the page went from 1.3 s to 0.41 s cold and from
165-172 ms to 85-87 ms warm. The two first-attempt counts went from 470-520 ms each (the
anti-join) to 17-40 ms (an index-only scan of the period on (currency, date) carrying the
status), the top debtors from 152-173 ms to 44-75 ms (grouped by customer id over the
partial index, names looked up for the ten shown), and the in-dunning figures and the
currency list are asked once, not twice. Still over 300 ms cold: what is left is 34 queries
of 10-25 ms each, most of them one aggregate each over the period's ~40,000 failure-summary
rows (the breakdowns by segment, decline code and week), plus the recovery-path attribution
(~65 ms, correlated subqueries over messages, decisions and actions per recovered invoice)
and the top debtors. Reaching 300 ms wants those breakdowns computed together (or per day
ahead of time), not a faster first attempt.

Forecast, AI impact and rollout, 2026-12-03 (branch forecastspeed), the same kept database,
the machine shared with other suites (load average 1.8-3.6), ms, p50/p99 of 5:

    page                 role     before (06:53, load 1.8-2.3)   after (07:18, load 2.7-3.2)
                                   cold       warm     queries    cold      warm   queries
    /analytics/forecast/ manager  1034/1096  29/65     18/10     391/412   16/17    18/10
    /analytics/forecast/ admin     804/938   14/19     18/10     375/380   16/16    18/10
    /analytics/impact/   manager   953/962   34/49     22/8      323/333   33/37    21/8
    /analytics/impact/   admin     939/946   37/42     22/8      315/320   33/34    21/8
    /dunning/rollout/    manager   857/876  764/888    13/13     254/255    8/9     12/6
    /dunning/rollout/    admin     807/861  810/877    13/13     247/253    8/9     12/6

(The old code again at 07:18, load 2.3-2.9: forecast 752-1242, impact 870-1025 cold.) What
changed: the forecast joins each open invoice's latest decision once (``Decision.failure``,
a relation without a column, gives the reverse join; the latest scored decision is looked up
only for the ~1,500 whose latest decision has no score): its grouped query ~650 -> ~230 ms.
A decision's outcome joins its failure summary once (``shadow.with_outcome``), and the
shadow comparison's all-segments total adds up the segments instead of a second query:
shadow 170 + 165 -> ~100 ms, calibration 274 -> ~90 ms. The rollout caches its evidence 30 s
(it was computed at every request). Still over 300 ms cold: the forecast (its grouped query
still probes the decisions once per open invoice, ~230 ms; PostgreSQL estimates ~400 open
invoices instead of 50,102, so it picks nested loops: with hash joins, forced, the query
took ~190 ms; then the fallback rates, ~60-80 ms) and the impact page by 15-23 ms (the
shadow query still repeats its per-decision attempt and retry subqueries at each use, ~100
ms for 3,600 decisions; automation's grouped and total queries, 30-40 ms each).

Decisions as an agent, 2026-12-03 (branch reachspeed), the same kept database, the machine
shared with a test suite (load average 2.6-4.5), ``--only /dunning/decisions`` and
``--only /dunning/outbox``, ms, p50/p99 of 5, cold:

Before: 07:28 (load 3.6) and 07:38 (load 3.9); after: 07:33 (load 2.6) and 07:39 (load 4.5).

    page                 role     before             queries  after              queries
    /dunning/decisions/  agent    436/475, 577/655   8        269/301, 225/232   7
    /dunning/decisions/  manager   47/47,   49/72    8        -,        67/81    7
    /dunning/outbox/     agent    -,       180/192   33       129/131, 192/239   33

What changed: the team rule (``collections_desk.access.rows_in_reach``) asks one boolean
per row, "is the customer's governing case in another team?", instead of testing the
governing team twice (``IS NULL OR IN``, two subplans per row); the list's page count is
the sum of its counts by mode, so the one grouped query (~125 ms over 54,788 decisions)
replaces the count (158 ms) and the count by mode (182 ms). Tried and dropped: the rule
set-based (the out-of-reach customers by a window over the 50,000 cases, ``NOT IN``): the
counts were no faster (~127 ms) and every page of rows under a LIMIT paid the window too
(the decision rows 12 -> 122 ms; the agent's outbox 297 ms at 07:32, 180 before). Left: the
``/collections/approvals/`` inbox (621 ms cold as agent at load 4.0, 07:34): its counts are
already one grouped query (``inbox._crosstab``, ~158 ms: every waiting action joined to its
decision and open case, with the per-row "may I decide" EXISTS), and the page's three
reads of actions add ~150 ms; no single index or merged query answers it locally.

Impact and forecast queries, 2026-12-03 (branch impactspeed), the same kept database, the
machine busier than before (another suite running: load average 4.0-5.6 on 2 cores), ms,
p50/p99 of 5, old and new code measured in turn, two rounds each:

    page                 role     before (07:41-07:42)       after (07:42-07:43)
                                   cold      warm  queries    cold      warm  queries
    /analytics/impact/   manager  398-407   36-37   21/8     349-403   35-37   19/8
    /analytics/impact/   admin    375-376   34-37   21/8     342-378   36-42   19/8
    /analytics/forecast/ manager  365-447   16      18/10    331-474   17-22   18/10
    /analytics/forecast/ admin    328-418   17-25   18/10    363-449   16-20   18/10

At this load the pages' cold times vary by ~100 ms from run to run, more than what changed,
so the queries were also timed alone (EXPLAIN ANALYZE, 3 runs each, the same moments): the
shadow comparison 104-197 -> 60-65 ms (one aggregate over the first decisions selected
DISTINCT, which PostgreSQL keeps as a subquery: each decision's attempt and retry lookups run
once instead of once per figure using them: 29 subplans -> 10), the forecast's fallback
rates 56-86 -> 45 ms (grouped by category and the number of age bands a failure was still
unpaid at, instead of ten filtered counts), and the automation and resolved-cases totals are
added up from their segments (two queries fewer: 30-40 and ~11 ms). Both pages are still
over 300 ms cold at this load (not measured again at the earlier one). The largest queries
left: on the impact page the calibration (~99 ms here: the first decision per invoice over
every mode, an anti-join, then the outcome) and automation's grouped query (~53 ms); on the
forecast its grouped query (~230 ms, the misestimate of open invoices and its nested loops,
untouched).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/dunwell_pages")
# Production's settings (the other benches default to the test ones: a fast password hasher).
os.environ.setdefault("DUNWELL_TESTING", "False")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import URLPattern, URLResolver, get_resolver, reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from analytics.at_risk.campaigns import CampaignRefused, campaign_launch  # noqa: E402
from analytics.experiments.service import VariantSpec, experiment_create  # noqa: E402
from analytics.models import Experiment, PreDunningCampaign  # noqa: E402
from bench import at_risk, dashboards, desk  # noqa: E402
from collections_desk.cases import cases_refresh  # noqa: E402
from collections_desk.models import OPEN_STATES, Case  # noqa: E402
from dunning.helpers.heap import startup_heap_freeze  # noqa: E402
from dunning.models import (  # noqa: E402
    Action,
    ChargebeeEvent,
    Customer,
    Decision,
    Invoice,
    InvoiceFirstAttempt,
    Transaction,
)
from dunning.sync.mirror.failures import failure_summary_refresh  # noqa: E402
from dunning.sync.mirror.first_attempts import first_attempts_rebuild  # noqa: E402

TARGET_MS = 300
# The URL confs whose routes are the app's pages (not the admin, RQ's pages or the webhooks).
APP_URLCONFS = ("dunning.urls", "collections_desk.urls", "analytics.urls")
TOP_LEVEL_PAGES = ("home",)
DESK_PREFIX, AT_RISK_PREFIX = "desk_", "risk_"
EXPERIMENT_NAME = "Bench: SMS before email"


@dataclass(frozen=True)
class Sizes:
    """What the seed makes at ``scale`` (1.0 is the issue's size)."""

    cases: int  # desk: a customer, an invoice, a failed payment and a waiting action each
    at_risk_customers: int  # renewals, each with 12 months of invoices and usage
    billing_customers: int  # the year of billing: the rest of the customers
    billing_transactions: int  # the rest of the transactions

    @classmethod
    def at(cls, scale: float) -> Sizes:
        cases = round(50_000 * scale)
        at_risk_customers = round(10_000 * scale)
        return cls(
            cases=cases,
            at_risk_customers=at_risk_customers,
            billing_customers=round(100_000 * scale) - cases - at_risk_customers,
            billing_transactions=round(1_000_000 * scale) - cases,
        )


@dataclass(frozen=True)
class Page:
    route: str  # as written in the URL conf, e.g. /collections/cases/<int:pk>/
    url: str  # with the seeded row's key filled in


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0: the issue's sizes")
    parser.add_argument("--runs", type=int, default=5, help="requests per measurement")
    parser.add_argument("--reseed", action="store_true", help="drop the kept database first")
    parser.add_argument("--only", default="", help="measure the routes that contain this")
    parser.add_argument("--explain", action="store_true", help="time the queries of the worst 3")
    parser.add_argument(
        "--keep-connection",
        action="store_true",
        help="cold requests keep the database connection, as production's CONN_MAX_AGE does",
    )
    return parser.parse_args()


def _timed(what: str, began: float) -> None:
    print(f"  {what} in {time.perf_counter() - began:.0f} s", flush=True)


def _sql(statement: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement)


def seed(sizes: Sizes, users: dict) -> None:
    """Every bench's seed in one database, then one row for each page that shows one thing."""
    began = time.perf_counter()
    dashboards.seed(customers=sizes.billing_customers, transactions=sizes.billing_transactions)
    _timed(f"billing: {sizes.billing_customers:,} customers", began)
    dashboards.summarise()
    dashboards.forecast_history()  # before the desk's: it decides only when nothing has been

    began = time.perf_counter()
    desk.seed(sizes.cases, prefix=DESK_PREFIX)
    # The desk's seed writes failed payments straight to the mirror; processing would have
    # kept their summary rows (the queue's and the dashboards' figures read them).
    failure_summary_refresh(invoice_ids=[f"{DESK_PREFIX}inv_{n}" for n in range(sizes.cases)])
    _timed(f"desk: {sizes.cases:,} cases", began)

    began = time.perf_counter()
    at_risk.seed(
        customers=sizes.at_risk_customers, months=12, rng=random.Random(7), prefix=AT_RISK_PREFIX
    )
    _timed(f"at risk: {sizes.at_risk_customers:,} renewals", began)

    _sql("ANALYZE")  # the refresh's plans need the new rows' statistics
    began = time.perf_counter()
    cases_refresh()
    _timed("cases_refresh", began)
    _one_of_each(users)
    _sql("VACUUM ANALYZE")


def _one_of_each(users: dict) -> None:
    """An event, a campaign and an experiment (last: it marks the seed complete)."""
    now = timezone.now()
    ChargebeeEvent.objects.create(
        event_id="ev_bench",
        event_type="payment_failed",
        occurred_at=now,
        source="webhook",
        payload={"id": "ev_bench", "event_type": "payment_failed", "content": {}},
    )
    try:
        campaign_launch(user=users["manager"], name="Bench renewals", within_days=30, min_score=0.2)
    except CampaignRefused as refused:
        print(f"  no campaign: {refused}")
    experiment_create(
        user=users["admin"],
        name=EXPERIMENT_NAME,
        hypothesis="An SMS is read sooner.",
        segment="",
        baseline_rate=0.3,
        minimum_effect=0.1,
        alpha=0.05,
        power=0.8,
        window_days=28,
        variants=[
            VariantSpec("control", "Today", {}, is_control=True),
            VariantSpec("sms", "SMS first", {"channel": "sms"}),
        ],
    )


def _keys() -> dict[str, dict[str, object]]:
    """The URL arguments of the pages that show one row: a case the agent's team works."""
    case = Case.objects.filter(team__name="Growth", state__in=OPEN_STATES).order_by("pk").first()
    case = case or Case.objects.order_by("pk").first()
    keys: dict[str, dict[str, object]] = {}
    if case is not None:
        keys["collections_desk:case_detail"] = {"pk": case.pk}
        invoice = case.invoices.order_by("pk").first()
        if invoice is not None:
            keys["dunning:invoice_decisions"] = {"cb_id": invoice.cb_id}
    for name, model in (
        ("dunning:event_detail", ChargebeeEvent),
        ("analytics:experiment", Experiment),
        ("analytics:campaign", PreDunningCampaign),
    ):
        row = model.objects.order_by("pk").first()
        if row is not None:
            keys[name] = {"pk": row.pk}
    return keys


def _placeholder(converter: object) -> object:
    """An argument for a route that has no seeded row (an action: it answers GET with 405)."""
    return 1 if type(converter).__name__ == "IntConverter" else "bench"


def pages() -> list[Page]:
    """Every route of the app's URL confs, and the top-level pages, with arguments filled in."""
    keys = _keys()
    found: list[Page] = []

    def walk(patterns: list, prefix: str, namespace: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                module = pattern.urlconf_module
                if isinstance(module, ModuleType) and module.__name__ in APP_URLCONFS:
                    walk(pattern.url_patterns, prefix + str(pattern.pattern), pattern.namespace)
            elif isinstance(pattern, URLPattern) and pattern.name:
                if not namespace and pattern.name not in TOP_LEVEL_PAGES:
                    continue
                name = f"{namespace}:{pattern.name}" if namespace else pattern.name
                converters = pattern.pattern.converters
                kwargs = keys.get(name) or {k: _placeholder(c) for k, c in converters.items()}
                route = "/" + prefix + str(pattern.pattern)
                found.append(Page(route=route, url=reverse(name, kwargs=kwargs)))

    walk(get_resolver().url_patterns, "", "")
    return found


def _status(user, url: str) -> int:
    client = Client()
    client.force_login(user)
    return client.get(url).status_code


def header() -> None:
    load = " ".join(f"{n:.1f}" for n in os.getloadavg())
    waiting = Action.objects.filter(state="proposed", needs_approval=True).count()
    print(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {connection.vendor} "
        f"{connection.settings_dict['NAME']}, {os.cpu_count()} cores, "
        f"load average {load}; cold requests "
        + ("keep the database connection" if ARGS.keep_connection else "on a new connection")
    )
    print(
        f"{Transaction.objects.count():,} transactions, {Customer.objects.count():,} "
        f"customers, {Invoice.objects.count():,} invoices, "
        f"{Case.objects.filter(state__in=OPEN_STATES).count():,} open cases, "
        f"{waiting:,} waiting actions, {Decision.objects.count():,} decisions"
    )


def run(users: dict) -> None:
    print(f"{'page':40} {'role':7} {'':>3}  {'cold':>11}  {'warm':>11}  {'queries':>7}")
    print(f"{'':40} {'':7} {'':>3}  {'p50':>5} {'p99':>5}  {'p50':>5} {'p99':>5}  cold/warm")
    worst: list[tuple[float, str, Page]] = []
    actions = 0
    for page in pages():
        if ARGS.only not in page.route:
            continue
        if _status(users["admin"], page.url) == 405:  # an action: POST only
            actions += 1
            continue
        for role, user in users.items():
            status = _status(user, page.url)
            if status == 403:
                print(f"{page.route:40} {role:7} {status:>3}  (not for this role)")
                continue
            cold_p50, cold_p99, cold_queries = desk.measure(
                user,
                page.url,
                {},
                runs=ARGS.runs,
                cold=True,
                expect=status,
                new_connection=not ARGS.keep_connection,
            )
            warm_p50, warm_p99, warm_queries = desk.measure(
                user, page.url, {}, runs=ARGS.runs, cold=False, expect=status
            )
            miss = " MISS" if cold_p50 > TARGET_MS else " p99" if cold_p99 > TARGET_MS else ""
            queries = f"{cold_queries}/{warm_queries}"
            print(
                f"{page.route:40} {role:7} {status:>3}  {cold_p50:5.0f} {cold_p99:5.0f}  "
                f"{warm_p50:5.0f} {warm_p99:5.0f}  {queries:>7}{miss}",
                flush=True,
            )
            worst.append((cold_p50, role, page))
    print(
        f"({actions} routes answer GET with 405: actions, not pages; times in ms; queries "
        f"cold/warm; MISS: cold p50 over {TARGET_MS} ms, p99: only the slowest run "
        "over)"
    )
    if ARGS.explain:
        explained: set[str] = set()
        for took, role, page in sorted(worst, key=lambda w: w[0], reverse=True):
            if page.url in explained or len(explained) == 3:
                continue
            explained.add(page.url)
            print(f"--- {page.url} as {role}: {took:.0f} ms cold; its queries over 5 ms, cold")
            desk.caches_clear()  # else the queries behind the page's cache are not run
            desk.explain(users[role], page.url, {})


def first_attempts_fill() -> None:
    """A database seeded before the first payment attempts were kept (dunning 0035) has
    none: fill them once, as ``rebuild_failure_summary`` would after the upgrade."""
    if InvoiceFirstAttempt.objects.exists() or not Transaction.objects.exists():
        return
    began = time.perf_counter()
    made = first_attempts_rebuild(now=timezone.now())
    # VACUUM too: the failure rate is counted from the index alone once the rows are marked
    # visible to all (autovacuum does it in production; the bench would measure before it).
    _sql(f"VACUUM ANALYZE {InvoiceFirstAttempt._meta.db_table}")
    _timed(f"first attempts of {made:,} invoices kept", began)


def main() -> None:
    desk.database_ensure(url=os.environ["DATABASE_URL"], drop=ARGS.reseed)
    settings.ALLOWED_HOSTS = ["*"]
    call_command("migrate", verbosity=0)
    first_attempts_fill()
    users = desk.people()
    sizes = Sizes.at(ARGS.scale)
    if not Experiment.objects.filter(name=EXPERIMENT_NAME).exists():
        if Transaction.objects.exists():
            sys.exit("An earlier seed stopped half-way: run again with --reseed.")
        began = time.perf_counter()
        print(f"seeding {sizes} (once; --reseed to refill)", flush=True)
        seed(sizes, users)
        _timed("seeded", began)
    # Measured as a web server's worker serves: its views loaded and its start-up heap
    # frozen before the first request (config/wsgi.py).
    get_resolver().url_patterns  # noqa: B018
    startup_heap_freeze()
    header()
    run(users)


ARGS = _parse() if __name__ == "__main__" else None

if __name__ == "__main__":
    main()
