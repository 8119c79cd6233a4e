"""How the decision path calls scikit-learn: without re-checking inputs our own code built."""

from __future__ import annotations

from contextlib import AbstractContextManager

from sklearn import config_context


def trusted_input() -> AbstractContextManager:
    """scikit-learn's finiteness scans and parameter validation off for one call: they
    guard against inputs a decision never passes (its rows are built by ``slot_features``
    and ``recovery_data`` from cleaned values, see ``retry_model._clean``; missing values
    are NaN by design and the boosters route them, no check rejects them). The results are
    the same. Measured in ``bench.models`` it saves little (one-row calls still pay
    ``check_array``'s conversions and one Python call per tree): it is the path for the
    models ``compiled_boosting`` does not cover."""
    return config_context(assume_finite=True, skip_parameter_validation=True)
