"""What is kept of any text that comes in from outside (a migrant's message on any channel, a mediator's
reply, an editor's form): one cleaning function, used by every edge before anything is stored.

- lone surrogates (`\\ud800`, valid in JSON, not in UTF-8) become U+FFFD: neither SQLite nor PostgreSQL
  can store them, and one such message used to stop Telegram polling for everybody;
- NUL and the other control characters go (PostgreSQL refuses NUL); tab and line breaks stay;
- NFC, and Windows line breaks become plain ones.

`cap` cuts a text at a length limit (MAX_MESSAGE_CHARS): the first part is what the bot reads and the
transcript shows; the rest is returned so that the caller keeps it for the mediator.
"""

from __future__ import annotations

import re
import unicodedata

_SURROGATES = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def clean_text(text: str) -> str:
    """The text as it may be stored and shown: see the module's docstring."""
    text = _CONTROL.sub("", _SURROGATES.sub("\ufffd", text))
    return unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")


def cap(text: str, limit: int) -> tuple[str, str]:
    """(the first `limit` characters, the rest); the rest is "" when the text fits."""
    if len(text) <= limit:
        return text, ""
    return text[:limit], text[limit:]
