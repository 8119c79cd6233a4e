"""Which drafter writes a message: the built-in templates, or the LLM (``DRAFTER=llm``),
which falls back to the built-in text whenever its draft fails the checks."""

from __future__ import annotations

from django.conf import settings

from dunning.actions.channels.builtin_drafter import BuiltinDrafter
from dunning.actions.channels.drafting import Drafter
from dunning.actions.channels.llm_drafter import LlmDrafter


def drafter_configured() -> Drafter:
    if settings.DRAFTER == "llm":
        return LlmDrafter(
            base_url=settings.LLM_BASE_URL,
            model=settings.LLM_MODEL,
            api_key=settings.LLM_API_KEY,
            timeout=settings.LLM_TIMEOUT_SECONDS,
        )
    return BuiltinDrafter()
