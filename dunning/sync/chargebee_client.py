"""The one place Dunwell builds its Chargebee SDK client."""

from __future__ import annotations

from urllib.parse import urlsplit

from chargebee import Chargebee
from django.conf import settings


def chargebee_client(*, site: str | None = None, api_key: str | None = None) -> Chargebee:
    """An SDK client for the configured site, or for ``CHARGEBEE_API_BASE`` when set.

    ``site`` and ``api_key`` override the settings (``chargebee_connect`` tries a pair
    before it is saved).

    The SDK builds URLs as ``{protocol}://{site}.{domain}/api/v2``. To reach a base URL such
    as ``http://127.0.0.1:8111`` (the sandbox) the host is split at its first dot into
    ``site`` and ``domain``, which the SDK joins back together unchanged.
    """
    api_key = api_key or settings.CHARGEBEE_API_KEY
    base = settings.CHARGEBEE_API_BASE
    if not base:
        return Chargebee(api_key=api_key, site=site or settings.CHARGEBEE_SITE)
    parts = urlsplit(base)
    host_site, _, domain = parts.netloc.partition(".")
    if parts.scheme == "http":
        # The SDK consults this class attribute (not the instance's) to choose http; it only
        # disables the SDK's own CA bundle, and https URLs keep httpx's verification.
        Chargebee.verify_ca_certs = False
    return Chargebee(
        api_key=api_key,
        site=host_site,
        chargebee_domain=domain,
        protocol=parts.scheme,
        connection_time_out=5,
        read_time_out=30,
    )
