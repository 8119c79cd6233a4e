"""Drafting with a language model behind any OpenAI-compatible endpoint (OpenAI, Ollama, vLLM).

What the model sees is the brief only: placeholders instead of the customer's name, amount,
card and link, and ticket text that was redacted and is passed as quoted data. What it
answers is untrusted: it must parse, contain the required placeholders, and carry no link,
amount or offer of its own (``validation.draft_problems``). If the endpoint fails or the
answer is refused, the built-in drafter writes the message and the reason is recorded.
"""

from __future__ import annotations

import json
import logging
import re
from functools import lru_cache
from string import Template

import openai

from dunning.actions.channels.builtin_drafter import BuiltinDrafter
from dunning.actions.channels.drafting import LENGTH_LIMITS, PLACEHOLDERS, Draft, DraftBrief
from dunning.actions.channels.prompts import ActivePrompt, prompt_template_active
from dunning.actions.channels.validation import draft_problems
from dunning.models import Channel, Purpose

logger = logging.getLogger(__name__)

TONES = {
    "self_serve": "friendly and light, first-name terms, short sentences",
    "growth": "professional and courteous, a little more formal",
    "enterprise": "formal and reassuring, as to a valued business account",
}
# The dunning sequence's tone, when it names one (dunning/decisions/policy_settings/sequence.py).
SEQUENCE_TONES = {
    "friendly": TONES["self_serve"],
    "formal": TONES["growth"],
    "firm": "firm and direct: the payment is overdue and must be settled promptly, still polite",
}
CODE_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$")


@lru_cache(maxsize=4)
def llm_client(*, base_url: str, api_key: str, timeout: float) -> openai.OpenAI:
    """One client per endpoint and process: building one (its HTTP pool) costs ~40 ms."""
    return openai.OpenAI(base_url=base_url, api_key=api_key, timeout=timeout, max_retries=1)


class LlmDrafter:
    name = "llm"

    def __init__(self, *, base_url: str, model: str, api_key: str, timeout: float = 20.0):
        self.model = model
        self.client = llm_client(base_url=base_url, api_key=api_key or "none", timeout=timeout)

    def draft(self, brief: DraftBrief) -> Draft:
        prompt = prompt_template_active(purpose=brief.purpose, channel=brief.channel)
        try:
            response = self.client.chat.completions.create(
                model=self.model, messages=prompt_messages(brief, prompt), temperature=0.4
            )
            content = response.choices[0].message.content or ""
        except (openai.OpenAIError, IndexError, AttributeError) as error:
            logger.warning("LLM drafter: endpoint failed: %s", type(error).__name__)
            return self._fallback(
                brief, prompt, f"the LLM endpoint failed ({type(error).__name__})"
            )
        try:
            draft = self._parse(content, brief, prompt)
        except ValueError as error:
            return self._fallback(brief, prompt, f"the LLM's answer was not usable: {error}")
        problems = draft_problems(
            draft,
            channel=brief.channel,
            required=brief.required,
            offers_allowed=brief.offers_allowed,
            filled_lengths=brief.filled_lengths,
        )
        if problems:
            return self._fallback(
                brief, prompt, f"the LLM's text was refused: {'; '.join(problems)}"
            )
        return draft

    def _parse(self, content: str, brief: DraftBrief, prompt: ActivePrompt) -> Draft:
        text = CODE_FENCE.sub("", content.strip())
        try:
            answer = json.loads(text)
        except json.JSONDecodeError:
            if brief.channel == Channel.EMAIL:
                raise ValueError("not the JSON asked for") from None
            answer = {"subject": "", "body": text}
        if not isinstance(answer, dict) or not isinstance(answer.get("body"), str):
            raise ValueError("no message body in the answer")
        subject = answer.get("subject") if isinstance(answer.get("subject"), str) else ""
        return Draft(
            subject=" ".join(subject.split())[:200] if brief.channel == Channel.EMAIL else "",
            body=answer["body"].strip(),
            drafter=self.name,
            model=self.model,
            prompt_template_id=prompt.template_id,
            prompt_version=prompt.version,
        )

    def _fallback(self, brief: DraftBrief, prompt: ActivePrompt, reason: str) -> Draft:
        draft = BuiltinDrafter().draft(brief)
        return Draft(
            subject=draft.subject,
            body=draft.body,
            drafter=draft.drafter,
            prompt_template_id=prompt.template_id,
            prompt_version=prompt.version,
            fallback_reason=f"{reason} (model {self.model}, prompt v{prompt.version})"[:500],
        )


def prompt_messages(brief: DraftBrief, prompt: ActivePrompt) -> list[dict]:
    """The chat messages sent: the filled template, then the tickets as quoted data."""
    context = [f"plan: {brief.plan or 'not named'}"]
    if brief.decline_reason:
        context.append(f"why the payment failed: {brief.decline_reason}")
    context.append(f"customer for about {brief.tenure_months} months")
    if brief.reminder:
        context.append("this is a reminder: an earlier message got no response")
    if brief.purpose == Purpose.RETRY_SCHEDULED:
        context.append("the payment will be retried automatically on {retry_date}")
    if brief.payment_instructions:
        context.append(f"how the customer pays offline: {brief.payment_instructions}")
    if brief.next_step:
        context.append(f"what happens if it stays unpaid: {brief.next_step}")
    system = Template(prompt.text).safe_substitute(
        purpose=Purpose(brief.purpose).label,
        channel=f"{Channel(brief.channel).label} (at most {LENGTH_LIMITS[brief.channel]} "
        "characters once filled in)",
        tone=SEQUENCE_TONES.get(brief.tone) or TONES.get(brief.segment, TONES["growth"]),
        context="; ".join(context),
        placeholders=", ".join("{" + p + "}" for p in PLACEHOLDERS),
        required=", ".join("{" + p + "}" for p in brief.required) or "nothing in particular",
    )
    # JSON-quoted, and no ticket can close the tag it sits in.
    tickets = json.dumps(list(brief.tickets), ensure_ascii=False).replace("<", "\\u003c")
    user = (
        "<customer_tickets>\n"
        f"{tickets}\n"
        "</customer_tickets>\n"
        "Write the message now, following the rules above. Answer with the JSON only."
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]
