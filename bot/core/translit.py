"""Uzbek Latin -> Cyrillic. Uzbek texts are written once, in Latin; Cyrillic is produced from them.

URLs, e-mail addresses, words with digits and brand-like words with an inner capital (RuStore,
WhatsApp) are left as they are.
"""

from __future__ import annotations

import re

APOSTROPHES = "ʻʼ'`‘’"
_VOWELS = set("aeiouAEIOU") | {"ў", "Ў"}
_DIGRAPHS = {"sh": "ш", "ch": "ч", "yo": "ё", "yu": "ю", "ya": "я", "ye": "е"}
_SINGLE = dict(zip("abdefghijklmnopqrstuvxyzcw", "абдефгҳижклмнопқрстувхйзсв", strict=True))
_KEEP = re.compile(r"(https?://\S+|www\.\S+|\S+@\S+|\b[\w.-]+\.(?:ru|uz|tj|kg|com|org|рф)\S*"
                   r"|(?<!\w)/[a-z]+|\b\w*\d\w*\b|\b[A-Z][a-z]+[A-Z][a-z]\w*\b)")
_WORD = re.compile(r"[A-Za-z" + APOSTROPHES + r"]+")


def _case(source: str, target: str) -> str:
    if source.isupper() and (len(source) > 1 or not source.isalpha()):
        return target.upper()
    return target[0].upper() + target[1:] if source[:1].isupper() else target


def _word(word: str) -> str:
    out: list[str] = []
    i, n = 0, len(word)
    while i < n:
        ch, low = word[i], word[i].lower()
        nxt = word[i + 1] if i + 1 < n else ""
        if low in "og" and nxt and nxt in APOSTROPHES:  # oʻ gʻ
            out.append(_case(ch, "ў" if low == "o" else "ғ"))
            i += 2
            continue
        if word[i:i + 5].lower() == "tsiya" or (i == 0 and word[:2].lower() == "ts"):
            # ц in loanwords: stantsiya, militsiya, tsement; elsewhere t+s stays (ketsa = кетса)
            out.append(_case(ch, "ц"))
            i += 2
            continue
        pair = word[i:i + 2]
        after = word[i + 2] if i + 2 < n else ""
        if pair.lower() in _DIGRAPHS and not (pair.lower()[1] in "og" and after in APOSTROPHES):
            upper_pair = pair.isupper() and (n > 2 and word.isupper())
            target = _DIGRAPHS[pair.lower()]
            out.append(target.upper() if upper_pair else _case(ch, target))
            i += 2
            continue
        if ch in APOSTROPHES:
            out.append("ъ" if out else "")
            i += 1
            continue
        if low == "e":
            prev = word[i - 1] if i else ""
            target = "э" if (not prev or prev in _VOWELS or prev in APOSTROPHES) else "е"
            out.append(target.upper() if ch.isupper() else target)
            i += 1
            continue
        target = _SINGLE.get(low, ch)
        out.append(target.upper() if ch.isupper() else target)
        i += 1
    return "".join(out)


def uz_latin_to_cyrillic(text: str) -> str:
    parts: list[str] = []
    last = 0
    for match in _KEEP.finditer(text):
        parts.append(_WORD.sub(lambda m: _word(m.group(0)), text[last:match.start()]))
        parts.append(match.group(0))
        last = match.end()
    parts.append(_WORD.sub(lambda m: _word(m.group(0)), text[last:]))
    return "".join(parts)
