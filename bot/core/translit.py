"""Uzbek Latin -> Cyrillic. Uzbek texts are written once, in Latin; Cyrillic is produced from them.

URLs, e-mail addresses, `{placeholders}`, words with digits and brand-like words with an inner capital
(RuStore, WhatsApp) are left as they are. Letter by letter goes wrong for acronyms and loanwords whose
Cyrillic form is not what the Latin spells (MFC is МФЦ, koeffitsiyent is коэффициент): `_TERMS` and
`_STEMS` hold those, as Uzbek Cyrillic texts write them.
"""

from __future__ import annotations

import re
from functools import lru_cache

from bot.vocabulary import APOSTROPHES

_VOWELS = set("aeiouAEIOU") | {"ў", "Ў"}
_DIGRAPHS = {"sh": "ш", "ch": "ч", "yo": "ё", "yu": "ю", "ya": "я", "ye": "е"}
_SINGLE = dict(zip("abdefghijklmnopqrstuvxyzcw", "абдефгҳижклмнопқрстувхйзсв", strict=True))
# Acronyms and names, matched case-sensitively as a whole word, optionally with an Uzbek suffix (MFCda -> МФЦда).
# Those the letters already give right (INN, SNILS, OMS, DMS, MVD, UFMS, FNS, Gosuslugi) need no entry.
_TERMS = {
    "MMC": "ММЦ", "MMTs": "ММЦ", "MFC": "МФЦ", "MFTs": "МФЦ",  # c and ts would give ММС, ММТс
    "Minsifri": "Минцифры", "Mintsifri": "Минцифры", "Mintsifry": "Минцифры",
    "RuID": "RuID", "QR": "QR", "WhatsApp": "WhatsApp", "RuStore": "RuStore", "Telegram": "Telegram",
}
# Loanword stems whose Cyrillic has ц, ь or ъ where the Latin has s, ts or nothing; matched at the start of a
# word in any case, with whatever suffix follows (kvitansiyalarni -> квитанцияларни).
_STEMS = {
    "koeffitsiyent": "коэффициент", "koeffitsient": "коэффициент", "litsenziya": "лицензия",
    "munitsipal": "муниципал", "kvitansiya": "квитанция", "stansiya": "станция", "inspeksiya": "инспекция",
    "infeksion": "инфекцион", "infeksiya": "инфекция", "aksiya": "акция", "vaksina": "вакцина",
    "sotsial": "социал", "protsent": "процент", "protsedura": "процедура", "spetsialist": "специалист",
    "patsiyent": "пациент", "kompyuter": "компьютер", "kuryer": "курьер", "obyekt": "объект",
    "sheremetyevo": "шереметьево",
}
_LETTER = r"(?:[A-Za-z]|[" + APOSTROPHES + r"](?=[A-Za-z]))"
_KEEP = re.compile(r"(?P<keep>https?://\S+|www\.\S+|\S+@\S+|\b[\w.-]+\.(?:ru|uz|tj|kg|com|org|рф)\S*"
                   r"|(?<!\w)/[a-z]+|\{\w+\}|%\(\w+\)[sd])"
                   r"|(?<![\w])(?P<term>" + "|".join(sorted(_TERMS, key=len, reverse=True)) + r")"
                   r"(?P<suffix>(?:[a-z]|[" + APOSTROPHES + r"](?=[a-z]))*)(?![\w])"
                   r"|(?P<other>\b\w*\d\w*\b|\b[A-Z][a-z]+[A-Z][a-z]\w*\b)")
_WORD = re.compile(_LETTER + "+")
_STEM = re.compile("|".join(sorted(_STEMS, key=len, reverse=True)), re.IGNORECASE)


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


@lru_cache(maxsize=1 << 14)  # words repeat: the language model's training transliterates thousands
def _word_or_stem(word: str) -> str:
    stem = _STEM.match(word)
    if stem is None:
        return _word(word)
    return _case(stem.group(0), _STEMS[stem.group(0).lower()]) + _word(word[stem.end():])


def _words(text: str) -> str:
    return _WORD.sub(lambda m: _word_or_stem(m.group(0)), text)


def uz_latin_to_cyrillic(text: str) -> str:
    parts: list[str] = []
    last = 0
    for match in _KEEP.finditer(text):
        parts.append(_words(text[last:match.start()]))
        term = match.group("term")
        parts.append(_TERMS[term] + _word(match.group("suffix")) if term else match.group(0))
        last = match.end()
    parts.append(_words(text[last:]))
    return "".join(parts)
