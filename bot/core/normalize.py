"""Folding text for comparisons: case, Unicode forms, Uzbek apostrophes, national letters.

`fold` maps every script the hotline meets to one Latin skeleton, so a keyword written in Uzbek
Latin matches the same word typed in Cyrillic, and Tajik/Kyrgyz words match when typed without
their special letters.
"""

from __future__ import annotations

import re
import unicodedata

from bot.vocabulary import APOSTROPHES

_CYR_TO_LAT = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "yo", "ж": "j", "з": "z",
    "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "x", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "sh",
    "ъ": "", "ы": "i", "ь": "", "э": "e", "ю": "yu", "я": "ya",
    # Uzbek, Tajik and Kyrgyz letters fold to the plain letter people type without them
    "ў": "o", "қ": "k", "ғ": "g", "ҳ": "x", "ӣ": "i", "ӯ": "u", "ҷ": "ch", "ң": "n", "ө": "o", "ү": "u",
}
_LAT = {"q": "k", "h": "x", "w": "sh", "c": "k"}
_APOSTROPHES = re.compile(f"[{APOSTROPHES}ʹ]")  # and the prime, typed for them too
_NON_WORD = re.compile(r"[^\w\s]+")
_SPACES = re.compile(r"\s+")
_DIGITS_ONLY = re.compile(r"^\s*(\d{1,2})\s*[.)]?\s*$")


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


# -- the matching form: one Latin skeleton for every script and spelling --------------------------------
#
# `skeleton` goes further than `fold`: it is what free-text understanding compares. Russian in Cyrillic
# and Russian typed in Latin letters ("zaderzhala", "4to", "de6evle"), Uzbek in Latin (with or without
# the oʻ/gʻ marks, with any apostrophe) and in Cyrillic, Tajik and Kyrgyz with or without their own
# letters all end up as the same string for the same word. Digraphs become one letter (ч č, ш š, ж j,
# х x, ц c), so letters typed twice collapse ("хуччат" = "ҳуҷҷат", "помогитеее" = "помогите").

_SK_CYR = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "j", "з": "z", "и": "i",
    "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",
    "у": "u", "ф": "f", "х": "x", "ц": "c", "ч": "č", "ш": "š", "щ": "š", "ъ": "", "ы": "i", "ь": "",
    "э": "e", "ю": "iu", "я": "ia", "є": "e", "і": "i",
    "ў": "o", "қ": "k", "ғ": "g", "ҳ": "x", "ӣ": "i", "ӯ": "u", "ҷ": "č", "ң": "n", "ө": "o", "ү": "u",
    "ә": "a", "һ": "x",
}
# Latin spellings, longest first: Russian transliteration and Uzbek Latin share one skeleton.
_SK_LAT = [("shch", "š"), ("sch", "š"), ("sh", "š"), ("ch", "č"), ("zh", "j"), ("kh", "x"), ("ts", "c"),
           ("tz", "c"), ("yo", "e"), ("ya", "ia"), ("yu", "iu"), ("w", "š"), ("h", "x"), ("q", "k"),
           ("y", "i")]
# The 2026 Uzbek Latin alphabet (ş ç for sh ch) and Turkish keyboards (ş ç ı): letters, not marks
_SK_NEW_LATIN = str.maketrans({"ş": "sh", "ç": "ch", "ı": "i", "ṣ": "sh", "č": "ch", "š": "sh"})
_SK_LAT_RE = re.compile("|".join(re.escape(a) for a, _ in _SK_LAT))
_SK_LAT_MAP = dict(_SK_LAT)
# Russian typed in Latin letters writes ч as 4 and ш as 6 inside words ("4to", "de6evle").
_SK_DIGIT_LETTER = re.compile(r"(?<=[a-z])[46]|[46](?=[a-z])")
_SK_SPLIT_NUM = re.compile(r"(?<=\d)(?=[^\d\s])|(?<=[^\d\s])(?=\d)")
_SK_NON_WORD = re.compile(r"[^0-9a-zčšjx ]+")
_SK_REPEAT = re.compile(r"([a-zčš])\1+")
_SK_CYR_TABLE = str.maketrans(_SK_CYR)
_SK_MARKED = re.compile(r"[^\x00-\x7f\u0400-\u04ff]")  # what `_strip_marks` may change


def skeleton(text: str) -> str:
    """The matching form of a text: lower-case Latin skeleton words separated by single spaces."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = _APOSTROPHES.sub("", text)
    text = _SK_DIGIT_LETTER.sub(lambda m: "ch" if m.group(0) == "4" else "sh", text)
    # Latin spellings first (the Cyrillic table below writes the skeleton's own letters directly);
    # accents and marks typed on Latin letters (o‘ written as ó, ğ) go
    text = text.translate(_SK_NEW_LATIN)
    text = _SK_MARKED.sub(lambda m: _strip_marks(m.group(0)), text)
    text = _SK_LAT_RE.sub(lambda m: _SK_LAT_MAP[m.group(0)], text)
    text = text.translate(_SK_CYR_TABLE).replace("ts", "c")
    text = _SK_SPLIT_NUM.sub(" ", text)
    text = _SK_NON_WORD.sub(" ", text)
    text = _SK_REPEAT.sub(r"\1", text)
    return _SPACES.sub(" ", text).strip()


def _strip_marks(ch: str) -> str:
    if ch.isascii() or "\u0400" <= ch <= "\u04ff":
        return ch
    return "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
