"""Checks at start (``manage.py check``, every server start) of settings Chargebee will judge."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, register

from dunning.actions.execution.chargebee_writes import REASON_CODE_LIMIT


@register()
def cancel_reason_code_check(app_configs, **kwargs) -> list[Error]:
    code = settings.CHARGEBEE_CANCEL_REASON_CODE
    errors = []
    if len(code) > REASON_CODE_LIMIT:
        errors.append(
            Error(
                f"CHARGEBEE_CANCEL_REASON_CODE is {len(code)} characters; Chargebee takes at most "
                f"{REASON_CODE_LIMIT}.",
                id="dunning.E001",
            )
        )
    if code != code.strip():
        errors.append(
            Error(
                "CHARGEBEE_CANCEL_REASON_CODE has leading or trailing spaces: Chargebee would not "
                "match it to the site's reason code.",
                id="dunning.E002",
            )
        )
    return errors
