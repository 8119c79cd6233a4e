"""The exchange-rate settings page: the reporting currency and its rate table (versioned)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse

from dunning.governance.config_versions import config_current
from dunning.governance.exchange_rates import (
    CHANGE_PERMISSION,
    EXCHANGE_RATES,
    VIEW_PERMISSION,
    rates_text,
)
from dunning.governance.versioned_pages import config_rollback_view, versioned_settings_page
from dunning.operations.settings_forms import ExchangeRatesForm


@login_required
@permission_required(VIEW_PERMISSION, raise_exception=True)
def exchange_rates(request: HttpRequest) -> HttpResponse:
    """Managers read; admins save a new version of the rates (with a reason) or roll back."""
    current = config_current(kind=EXCHANGE_RATES)
    return versioned_settings_page(
        request,
        kind=EXCHANGE_RATES,
        form_class=ExchangeRatesForm,
        initial={"reporting_currency": current["reporting_currency"], "rates": rates_text(current)},
        change_permission=CHANGE_PERMISSION,
        template="dunning/exchange_rates.html",
        page="dunning:exchange_rates",
        context={"rollback_url": "dunning:exchange_rates_rollback"},
    )


exchange_rates_rollback = config_rollback_view(
    kind=EXCHANGE_RATES, change_permission=CHANGE_PERMISSION, page="dunning:exchange_rates"
)
