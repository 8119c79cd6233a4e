"""An admin who switches the satisfaction survey off in the channel settings stops it."""

from __future__ import annotations

import pytest

from dunning.decisions.policy_settings.channel_settings import CHANNEL_SETTINGS
from dunning.governance.config_versions import config_current, config_update
from dunning.models import Action
from tests.collections_desk.test_csat import SURVEY, pay_and_refresh, settled_case  # noqa: F401

pytestmark = pytest.mark.django_db


def test_with_the_survey_switched_off_a_resolved_case_asks_nothing(settled_case, admin_user):  # noqa: F811
    data = {**config_current(kind=CHANNEL_SETTINGS), "csat_survey": False}
    config_update(kind=CHANNEL_SETTINGS, data=data, user=admin_user, note="survey fatigue")

    case = pay_and_refresh(settled_case)

    assert case.state == "resolved"
    assert not Action.objects.filter(**SURVEY).exists()
