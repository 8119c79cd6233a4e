"""A resolved case asks its customer one question; the signed link records one answer; the
recovery dashboard shows the answers beside the recovery rate and the manual work saved."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.urls import reverse

from collections_desk.cases import case_claim, cases_refresh
from collections_desk.models import CaseState, CsatAnswer
from dunning.actions.channels.survey_links import csat_token
from dunning.actions.execution.executor import Outcome, action_run
from dunning.decisions.policy_settings.guardrails import guardrails_update
from dunning.models import Action, ActionState, Customer, Invoice
from tests.collections_desk.conftest import case_for

pytestmark = pytest.mark.django_db

SURVEY = {"params__template": "csat_survey"}


@pytest.fixture
def settled_case(approve_mode, teams, settings):
    """Ana's case in auto mode; then her invoice is paid and the desk notices."""
    settings.QUIET_HOURS = ""
    case = case_for(1)
    Customer.objects.filter(cb_id="cus_1").update(email="ana@example.com")
    guardrails_update(changes={"default_mode": "auto"}, user=None, note="auto")
    return case


def pay_and_refresh(case):
    Invoice.objects.filter(cb_id="inv_1").update(status="paid", amount_due=0)
    cases_refresh()
    case.refresh_from_db()
    return case


def survey_link_sent(case) -> str:
    [survey] = Action.objects.filter(**SURVEY)
    assert action_run(action_id=survey.pk) == Outcome.EXECUTED
    [email] = mail.outbox
    return re.search(r"https?://\S+/collections/survey/\S+/", email.body).group(0)


def test_a_resolved_cases_customer_is_sent_one_survey(settled_case):
    case = pay_and_refresh(settled_case)
    cases_refresh()  # the desk looks again: still one survey

    assert (case.state, case.resolution_type) == (CaseState.RESOLVED, "automatic")
    [survey] = Action.objects.filter(**SURVEY)
    assert (survey.state, survey.kind, survey.params["case"]) == ("scheduled", "message", case.pk)
    assert survey.decision.trigger == "case_resolved"

    link = survey_link_sent(case)
    action_run(action_id=survey.pk)  # a second run sends nothing more

    [email] = mail.outbox
    assert email.to == ["ana@example.com"]
    assert "Ana" in email.body and link in email.body and "{" not in email.body
    assert "How did we do" in email.subject or "One quick question" in email.subject
    survey.refresh_from_db()
    assert survey.state == ActionState.EXECUTED


def test_in_approve_mode_the_survey_waits_for_a_person(approve_mode, teams, settings):
    case = pay_and_refresh(case_for(1))

    [survey] = Action.objects.filter(**SURVEY)
    assert (survey.state, survey.needs_approval) == (ActionState.PROPOSED, True)
    assert case.resolution_type == "automatic"


def test_a_voided_invoice_gets_no_survey(settled_case):
    Invoice.objects.filter(cb_id="inv_1").update(status="voided", amount_due=0)
    cases_refresh()

    assert not Action.objects.filter(**SURVEY).exists()


def test_a_claimed_case_counts_as_worked_by_an_agent(settled_case, agent):
    case_claim(case=settled_case, user=agent)

    assert pay_and_refresh(settled_case).resolution_type == "agent"


def test_the_customer_answers_once_through_the_signed_link(settled_case, client):
    case = pay_and_refresh(settled_case)
    path = survey_link_sent(case).split("://", 1)[1].split("/", 1)[1]
    path = "/" + path

    page = client.get(path)
    assert page.status_code == 200 and b"How did we handle your billing issue" in page.content

    unrated = client.post(path, {"comment": "fine"})
    assert unrated.status_code == 400 and b"choose a score from 1 to 5" in unrated.content

    answered = client.post(path, {"score": "4", "comment": "Quick and polite."})
    assert answered.status_code == 200 and b"Thank you" in answered.content
    answer = CsatAnswer.objects.get()
    assert (answer.case, answer.score, answer.comment) == (case, 4, "Quick and polite.")
    assert (answer.channel, answer.segment, answer.resolution_type) == (
        "email",
        "self_serve",
        "automatic",
    )

    again = client.post(path, {"score": "1"})
    assert again.status_code == 409 and b"already answered" in again.content
    assert CsatAnswer.objects.get().score == 4


def test_a_forged_or_foreign_survey_link_is_refused(settled_case, client):
    pay_and_refresh(settled_case)
    survey = Action.objects.get(**SURVEY)
    token = csat_token(action=survey)
    other_action = Action.objects.exclude(pk=survey.pk).first()

    for bad in (token[:-2] + "xx", csat_token(action=other_action), "nonsense"):
        response = client.post(reverse("collections_desk:csat_answer", args=[bad]), {"score": 5})
        assert response.status_code == 400, bad
        assert b"not valid" in response.content
    assert not CsatAnswer.objects.exists()


def test_manager_sees_satisfaction_beside_recovery_and_work_saved(settled_case, client, manager):
    case = pay_and_refresh(settled_case)
    survey = Action.objects.get(**SURVEY)
    client.post(
        reverse("collections_desk:csat_answer", args=[csat_token(action=survey)]), {"score": "5"}
    )
    assert CsatAnswer.objects.filter(case=case).exists()

    client.force_login(manager)
    page = client.get("/analytics/recovery/?period=30").content.decode()

    assert "Customer satisfaction and manual work saved" in page
    assert re.search(r'data-figure-name="csat_average">5\.0 / 5<', page)
    assert re.search(r'data-figure-name="work_saved">100\.0%<', page)
    panel = page[page.index('id="csat"') :]
    assert re.search(r"<td>Email</td><td>1</td><td>5\.0</td>", panel)
    assert re.search(r"<td>self_serve</td><td>1</td><td>5\.0</td>", panel)
    assert re.search(r"<td>Resolved without a person</td><td>1</td><td>5\.0</td>", panel)
