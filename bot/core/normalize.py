"""Folding text for comparisons: case, Unicode forms, Uzbek apostrophes, national letters.

`fold` maps every script the hotline meets to one Latin skeleton, so a keyword written in Uzbek
Latin matches the same word typed in Cyrillic, and Tajik/Kyrgyz words match when typed without
their special letters.
"""

from __future__ import annotations

import re
import unicodedata

_CYR_TO_LAT = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "yo", "ж": "j", "з": "z",
    "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "x", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "sh",
    "ъ": "", "ы": "i", "ь": "", "э": "e", "ю": "yu", "я": "ya",
    # Uzbek, Tajik and Kyrgyz letters fold to the plain letter people type without them
    "ў": "o", "қ": "k", "ғ": "g", "ҳ": "x", "ӣ": "i", "ӯ": "u", "ҷ": "ch", "ң": "n", "ө": "o", "ү": "u",
}
_LAT = {"q": "k", "h": "x", "w": "sh", "c": "k"}
_APOSTROPHES = re.compile(r"[ʻʼ'`‘’ʹ]")
_NON_WORD = re.compile(r"[^\w\s]+")
_SPACES = re.compile(r"\s+")
_DIGITS_ONLY = re.compile(r"^\s*(\d{1,2})\s*[.)]?\s*$")


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def sanitize(text: str) -> str:
    """What is stored of a message: NFC, without control characters (NUL can't even be stored in
    PostgreSQL), line breaks kept."""
    return _CONTROL.sub("", unicodedata.normalize("NFC", text)).replace("\r\n", "\n")


def clean(text: str) -> str:
    """NFC, trimmed, inner whitespace collapsed: what is stored and shown back."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip()


def fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    text = _APOSTROPHES.sub("", text)
    text = "".join(_CYR_TO_LAT.get(ch, ch) for ch in text)
    text = "".join(_LAT.get(ch, ch) for ch in text)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = _NON_WORD.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def option_number(text: str) -> int | None:
    """`2`, `2.`, ` 2 ` or `2)` -> 2."""
    match = _DIGITS_ONLY.match(text)
    return int(match.group(1)) if match else None
