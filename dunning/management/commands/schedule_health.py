from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from config.schedule import SCHEDULE, schedule_late


class Command(BaseCommand):
    help = (
        "Exit non-zero, naming the jobs, when a periodic job has not finished within twice "
        "its interval plus a minute: the schedule, the workers or Redis has stopped. Run it "
        "from a monitor (a systemd timer, a Kubernetes probe) and alert on failure."
    )

    def handle(self, *args, **options):
        late = schedule_late()
        now = timezone.now()
        if late:
            lines = [
                f"{job.name}: last finished "
                + (
                    f"{(now - job.last_finished_at).total_seconds():.0f} s ago"
                    if job.last_finished_at
                    else "never"
                )
                + f" (allowed {job.late_after.total_seconds():.0f} s)"
                for job in late
            ]
            raise CommandError("schedule late:\n  " + "\n  ".join(lines))
        self.stdout.write(self.style.SUCCESS(f"schedule healthy: {len(SCHEDULE)} jobs on time"))
