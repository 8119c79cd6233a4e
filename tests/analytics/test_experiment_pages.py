"""The experiment pages: who may do what, the design form, the results and the verdict."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

from analytics.models import Experiment
from dunning.models import AuditEntry
from tests.analytics.experiments.build import outcomes, running_experiment

pytestmark = pytest.mark.django_db
LIST = reverse("analytics:experiments")


def design(**overrides) -> dict:
    data = {
        "name": "SMS first",
        "hypothesis": "An SMS is read sooner.",
        "segment": "",
        "baseline_rate": "30",
        "minimum_effect": "10",
        "alpha": "0.05",
        "power": "0.8",
        "window_days": "28",
        "form-TOTAL_FORMS": "3",
        "form-INITIAL_FORMS": "0",
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "6",
        "form-0-key": "control",
        "form-0-label": "Today",
        "form-0-weight": "1",
        "form-0-is_control": "on",
        "form-1-key": "sms",
        "form-1-label": "SMS first",
        "form-1-channel": "sms",
        "form-1-weight": "1",
        "form-2-key": "",
        "form-2-label": "",
    }
    return {**data, **overrides}


def step(pk: int, name: str) -> str:
    return reverse("analytics:experiment_step", args=[pk, name])


def test_agent_cannot_open_or_run_experiments(client, agent, manager):
    experiment = running_experiment(manager)
    client.force_login(agent)
    assert client.get(LIST).status_code == 403
    assert client.post(LIST, design()).status_code == 403
    assert client.get(reverse("analytics:experiment", args=[experiment.pk])).status_code == 403
    assert client.post(step(experiment.pk, "stop")).status_code == 403
    assert b"Experiments" not in client.get(reverse("home")).content


def test_manager_designs_an_experiment_and_sees_its_planned_sample(client, manager):
    client.force_login(manager)
    page = client.get(LIST)
    assert page.status_code == 200 and b'id="experiment-form"' in page.content
    assert page["Vary"] and "HX-Request" in page["Vary"]

    response = client.post(LIST, design())

    experiment = Experiment.objects.get(name="SMS first")
    assert response.status_code == 302
    assert experiment.planned_per_variant == 356 and experiment.status == "draft"
    assert experiment.variants.get(key="sms").params == {"channel": "sms"}
    detail = client.get(response["Location"])
    assert b"planned 356 outcomes per variant" in detail.content


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"form-0-is_control": ""}, b"Mark exactly one variant as the control."),
        ({"form-1-key": "control"}, b"Each variant needs its own key."),
        ({"baseline_rate": "95", "minimum_effect": "10"}, b"strictly between 0 and 1"),
        ({"baseline_rate": "lots"}, b"Enter a number."),
        ({"form-1-timing": "fixed_delay"}, b"A fixed delay needs its hours."),
        ({"form-1-channel": "fax"}, b"Select a valid choice."),
    ],
)
def test_bad_designs_are_refused_with_the_reason(client, manager, overrides, error):
    client.force_login(manager)
    response = client.post(LIST, design(**overrides))
    assert response.status_code == 400 and error in response.content
    assert not Experiment.objects.exists()


def test_manager_starts_and_stops_but_an_admin_promotes(client, manager, admin_user):
    experiment = running_experiment(manager, effect=0.45)
    Experiment.objects.filter(pk=experiment.pk).update(status="draft", started_at=None)
    client.force_login(manager)

    assert client.post(step(experiment.pk, "start")).status_code == 302
    assert Experiment.objects.get(pk=experiment.pk).status == "running"
    planned = experiment.planned_per_variant
    outcomes(experiment, "control", recovered=2, failed=planned - 2)
    outcomes(experiment, "treatment", recovered=planned - 1, failed=1)
    assert client.post(step(experiment.pk, "promote"), {"variant": "treatment"}).status_code == 403
    assert client.post(step(experiment.pk, "propose"), {"variant": "treatment"}).status_code == 302
    assert client.post(step(experiment.pk, "start")).status_code == 409  # running already

    client.force_login(admin_user)
    promoted = client.post(step(experiment.pk, "promote"), {"variant": "treatment", "note": "x"})
    assert promoted.status_code == 302
    assert Experiment.objects.get(pk=experiment.pk).status == "promoted"
    history = client.get(LIST).content.decode()
    assert "variant treatment promoted" in history and "channel: email → sms" in history
    assert "offer:" not in history  # unchanged settings are not listed
    assert client.post(step(experiment.pk, "explode")).status_code == 400
    assert client.post(step(experiment.pk, "promote"), {}).status_code == 400


def test_the_detail_page_shows_estimates_as_not_conclusive_with_a_ci_chart(client, manager):
    experiment = running_experiment(manager)
    outcomes(experiment, "control", recovered=3, failed=7, pending=2)
    outcomes(experiment, "treatment", recovered=6, failed=4)
    client.force_login(manager)

    response = client.get(reverse("analytics:experiment", args=[experiment.pk]))

    body = response.content.decode()
    assert response.status_code == 200
    assert "Not conclusive yet: 20 of 712 planned outcomes are in." in body
    assert "p (Holm)" not in body  # no test result before the planned sample
    figure = json.loads(
        re.search(
            r'<script id="experiment-figure" type="application/json">(.*?)</script>', body, re.S
        ).group(1)
    )
    assert figure["data"][0]["y"] == [30.0, 60.0]
    fragment = client.get(
        reverse("analytics:experiment", args=[experiment.pk]), headers={"HX-Request": "true"}
    )
    assert b"<html" not in fragment.content and b'id="verdict"' in fragment.content
    assert client.get(reverse("analytics:experiment", args=[9999])).status_code == 404


def test_stopping_an_experiment_needs_a_reason_and_a_confirmation(client, manager):
    experiment = running_experiment(manager)
    client.force_login(manager)

    refused = client.post(step(experiment.pk, "stop"))
    assert (
        refused.status_code == 400
        and "needs a reason and a confirmation" in refused.content.decode()
    )
    assert Experiment.objects.get(pk=experiment.pk).status == "running"

    stopped = client.post(
        step(experiment.pk, "stop"), {"reason": "the variant upset customers", "confirm": "yes"}
    )

    assert stopped.status_code == 302
    assert Experiment.objects.get(pk=experiment.pk).status == "stopped"
    entry = AuditEntry.objects.get(action="experiment.stopped", object_id=str(experiment.pk))
    assert entry.data["reason"] == "the variant upset customers"
