"""Channel settings an admin changes from the UI: quiet hours, channels on/off, the sender.

One versioned document (``dunning.governance.config_versions``, key ``channels``). Until an admin
saves a version, the defaults come from the environment (``QUIET_HOURS``,
``DEFAULT_FROM_EMAIL``), so an installation behaves as before. Delivery and decisions read
``channel_settings_read()``: a switched-off channel is never chosen for a new action, and a
message already planned on it goes out on the first channel that is on (or waits, saying
why, when none is).
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.validators import validate_email

from dunning.decisions.timing.quiet_hours import QuietHours, quiet_hours_parse
from dunning.governance.config_versions import ConfigKind, config_current, config_kind_register
from dunning.models import Channel

VIEW_PERMISSION = "dunning.view_channel_settings"
CHANGE_PERMISSION = "dunning.change_channel_settings"
# The order a message falls back in when its channel is switched off.
FALLBACK_ORDER = (Channel.EMAIL, Channel.SMS, Channel.IN_APP)


def _defaults() -> dict:
    name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    return {
        "quiet_hours": settings.QUIET_HOURS.strip(),
        "enabled": {channel.value: True for channel in Channel},
        "sender_name": name,
        "sender_address": address,
        "csat_survey": True,
    }


def _problems(data: dict) -> list[str]:
    problems = []
    try:
        quiet_hours_parse(str(data.get("quiet_hours", "")))
    except ImproperlyConfigured:
        problems.append("quiet hours must look like 21:00-08:00, or be empty for none")
    enabled = data.get("enabled")
    if not isinstance(enabled, dict) or set(enabled) != set(Channel.values):
        problems.append("say for each channel whether it is on")
    elif not any(enabled.values()):
        problems.append("at least one channel must stay on, or no customer hears from us")
    try:
        validate_email(data.get("sender_address", ""))
    except ValidationError:
        problems.append("the from address must be an email address")
    if len(str(data.get("sender_name", ""))) > 80:
        problems.append("the sender name has at most 80 characters")
    return problems


CHANNEL_SETTINGS = config_kind_register(
    ConfigKind(
        key="channels",
        label="Channel settings",
        change_permission=CHANGE_PERMISSION,
        defaults=_defaults,
        problems=_problems,
    )
)


@dataclass(frozen=True)
class ChannelSettings:
    quiet: QuietHours | None
    enabled: frozenset[str]
    from_email: str
    csat_survey: bool

    def is_on(self, channel: str) -> bool:
        return channel in self.enabled


def channel_settings_read() -> ChannelSettings:
    data = config_current(kind=CHANNEL_SETTINGS)
    defaults = _defaults()
    # Saved versions were checked; a bad QUIET_HOURS default raises, as it always did.
    quiet = quiet_hours_parse(str(data.get("quiet_hours", "")))
    enabled = data.get("enabled") or defaults["enabled"]
    return ChannelSettings(
        quiet=quiet,
        enabled=frozenset(name for name, on in enabled.items() if on),
        from_email=formataddr(
            (data.get("sender_name", ""), data.get("sender_address") or defaults["sender_address"])
        ),
        csat_survey=bool(data.get("csat_survey", True)),
    )


def channel_choose(preferred: str, *, current: ChannelSettings | None = None) -> str | None:
    """``preferred`` if it is on, else the first channel that is on; None if none is."""
    current = current or channel_settings_read()
    preferred = preferred or Channel.EMAIL
    if current.is_on(preferred):
        return preferred
    return next((str(c) for c in FALLBACK_ORDER if current.is_on(c)), None)
