from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime, time
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_date, parse_datetime

from dunning.decisions.learning.export import FORMATS, export_records, export_write
from dunning.governance.reach import rows_in_reach
from dunning.models import Action


def moment(text: str, option: str) -> datetime:
    """A date (midnight UTC) or an ISO 8601 time (UTC when it names no offset)."""
    try:
        day = parse_date(text)
        value = datetime.combine(day, time(), UTC) if day else parse_datetime(text)
    except ValueError as error:  # well formed but impossible, e.g. 2026-02-30
        raise CommandError(f"{option} {text!r} is not a real date: {error}") from None
    if value is None:
        raise CommandError(
            f"{option} {text!r} is not a date: use YYYY-MM-DD or an ISO 8601 time "
            "such as 2026-11-01T00:00:00Z"
        )
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = (
        "Write one record per proposed action of the decisions made since a date "
        "(JSON Lines or CSV; times in UTC ISO 8601 with Z)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--since", required=True, help="YYYY-MM-DD or ISO 8601 (inclusive)")
        parser.add_argument("--until", help="YYYY-MM-DD or ISO 8601 (exclusive)")
        parser.add_argument("--format", default="jsonl", help=f"one of {', '.join(FORMATS)}")
        parser.add_argument("--output", help="file to write (default: standard output)")
        parser.add_argument(
            "--as-user",
            help="export only what this person may see (an agent: their teams' customers)",
        )

    def handle(self, *args, **options):
        fmt = options["format"]
        if fmt not in FORMATS:
            raise CommandError(
                f"--format {fmt!r} is not supported: use one of {', '.join(FORMATS)}"
            )
        since = moment(options["since"], "--since")
        until = moment(options["until"], "--until") if options["until"] else None
        if until is not None and until <= since:
            raise CommandError("--until must be later than --since")
        actions = None
        if options["as_user"]:
            people = get_user_model().objects.filter(is_active=True)
            user = people.filter(username=options["as_user"]).first()
            if user is None:
                raise CommandError(f"--as-user {options['as_user']!r}: no such active user")
            actions = rows_in_reach(user=user, rows=Action.objects.all())
        records = export_records(since=since, until=until, actions=actions)
        if not options["output"]:
            written = export_write(records=records, fmt=fmt, out=self.stdout)
        else:
            written = self._write_file(Path(options["output"]), records=records, fmt=fmt)
        self.stderr.write(f"{written} actions exported.")

    def _write_file(self, path: Path, *, records, fmt: str) -> int:
        """Write beside the target and rename, so a failure never leaves half a file."""
        if not path.parent.is_dir():
            raise CommandError(f"--output {path}: the folder {path.parent} does not exist")
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
                written = export_write(records=records, fmt=fmt, out=out)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return written
