"""What a person reads on a page: its text, without scripts, styles, attributes or what is
set as code, and the code tokens that must not be in it."""

from __future__ import annotations

import re
from html.parser import HTMLParser

HIDDEN = {"script", "style", "template", "noscript"}
# Shown as code on purpose (a raw payload, a prompt being edited, a command to type): the
# typography tells the reader it is code.
AS_CODE = {"code", "pre", "textarea", "kbd", "samp"}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hidden_depth = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in HIDDEN | AS_CODE:
            self.hidden_depth += 1

    def handle_endtag(self, tag):
        if tag in HIDDEN | AS_CODE and self.hidden_depth:
            self.hidden_depth -= 1

    def handle_data(self, data):
        if not self.hidden_depth:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return re.sub(r"\s+", " ", " ".join(parser.parts))


# Chargebee's own ids (inv_…, cus_…) are what people search Chargebee with: they stay.
CHARGEBEE_ID = re.compile(r"^(inv|cus|sub|txn|pm|ev|cn|hp|plan|ch|evt)_[A-Za-z0-9_]+$")
CODE_TOKENS = {
    "snake_case code": re.compile(r"(?<![\w@./-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w@/-])"),
    "dotted code": re.compile(r"(?<![\w@./-])[a-z]{2,}(?:\.[a-z_]{2,}){1,3}(?![\w@/(.-])"),
    "raw dict or list": re.compile(r"[{\[]\s*['\"]"),
    "None": re.compile(r"\bNone\b"),
    "True/False": re.compile(r"\b(?:True|False)\b"),
    "unformatted float": re.compile(r"(?<![\w.,])\d{4,}\.\d+\b|(?<![\w.])\d+\.\d{5,}\b"),
    "source tag": re.compile(r"§|\[[A-Z]{1,2}\d+\]|peers\.md|\.json\b"),
}
# Words that look like codes but are what people read (hosts, file names they download).
ALLOWED = {"dunwell.test", "x.test"}


def code_tokens(text: str, *, names: frozenset[str] = frozenset()) -> list[tuple[str, str]]:
    """``names`` are people's user names (ada.admin): what they log in with, not codes."""
    found = []
    for name, pattern in CODE_TOKENS.items():
        for match in pattern.finditer(text):
            token = match.group(0)
            if (
                CHARGEBEE_ID.match(token)
                or token in ALLOWED
                or token in names
                or token.endswith(".test")
            ):
                continue
            start = max(match.start() - 40, 0)
            found.append((name, text[start : match.end() + 40]))
    return found
