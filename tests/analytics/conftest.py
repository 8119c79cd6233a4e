import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def fresh_dashboard_cache():
    """Dashboards cache their figures for 30 s; each test starts from the database."""
    cache.clear()
    yield
    cache.clear()
