"""What the flow files say about where an answer's facts come from: the sources' short display form,
the dates written in them, and how long the checked/source line that ends a sourced answer can be (the
core writes the line itself, in the migrant's language; `hotline flows check` counts this bound into the
1,600 characters of a WhatsApp message)."""

from __future__ import annotations

import datetime as dt
import re

from bot.flowspec.model import Node

SEPARATOR = "\n\n"
# The line's own words in the longest language ("Санҷида шуд: · Манбаъ: ") and a date written out
# ("22 сентябрь 2026"): a test keeps these above what the catalogs and Babel really produce.
LINE_WORDS = 32
LINE_DATE = 20
UNSOURCED_TOPICS = frozenset({None, "out_of_scope", "handoff_needed"})
MAX_SOURCE = 60  # characters of the source shown; the full list stays in the flow file

# Citations written in English in the flow files, shown in their official Russian short form: the
# form a migrant can show at the MVD or quote to a lawyer, whatever language the answer is in.
_CITATIONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"Tax Code art\. ([\d.]+)"), "НК РФ, ст. {0}"),
    (re.compile(r"KoAP art\. ([\d.]+)"), "КоАП РФ, ст. {0}"),
    (re.compile(r"Labour Code art\. ([\d.]+)"), "ТК РФ, ст. {0}"),
    (re.compile(r"Criminal Code art\. ([\d.]+)"), "УК РФ, ст. {0}"),
    (re.compile(r"EAEU Treaty(?: of [\d.]+)? art\. (\d+)"), "Договор о ЕАЭС, ст. {0}"),
    (re.compile(r"Minzdrav Order No\. (\d+)n"), "приказ Минздрава № {0}н"),
    (re.compile(r"UMVD (?:of )?Tula"), "УМВД по Тульской обл."),
    (re.compile(r"RU–UZ agreement"), "соглашение России и Узбекистана"),
    (re.compile(r"RU–TJ agreement"), "соглашение России и Таджикистана"),
    (re.compile(r"CIS Agreement of ([\d.]+)"), "соглашение СНГ от {0}"),
    (re.compile(r"Government Decree No\. (\d+)"), "постановление Правительства РФ № {0}"),
    (re.compile(r"(?:Federal Laws? )?(\d+)-FZ(?: of [\d.]+)? art\. ([\d.]+)"), "{0}-ФЗ, ст. {1}"),
    (re.compile(r"(?:Federal Laws? )?(\d+)-FZ"), "{0}-ФЗ"),
)
_DOMAIN = re.compile(r"\b((?:[a-z0-9-]+\.)+(?:ru|рф|tj|kg|uz|com|org|net|info|media|az))\b", re.IGNORECASE)


def shown_source(sources: list[str]) -> str:
    """A short display form of the sources: the official short name of a law or body the first source
    cites, else one a later source cites, else the website the first is from, else its opening words."""
    if not sources:
        return ""
    first = sources[0]
    for source in sources:
        # the citation written first in the source; on a tie the more specific pattern (listed first)
        found = [(m.start(), i, m) for i, (pattern, _) in enumerate(_CITATIONS) if (m := pattern.search(source))]
        if found:
            _, i, match = min(found, key=lambda f: (f[0], f[1]))
            return _CITATIONS[i][1].format(*match.groups())
    domain = _DOMAIN.search(first)
    if domain:
        return domain.group(1).removeprefix("www.")
    head = re.split(r" \(|: |; ", first, maxsplit=1)[0].strip()
    if len(head) > MAX_SOURCE:
        head = head[:MAX_SOURCE - 1].rsplit(" ", 1)[0] + "…"
    return head


def line_bound(node: Node) -> int:
    """At most how many characters the checked/source line adds to this answer's text (0: none)."""
    if node.type != "answer" or node.topic in UNSOURCED_TOPICS or not node.sources or node.reviewed is None:
        return 0
    return len(SEPARATOR) + LINE_WORDS + LINE_DATE + len(shown_source(node.sources))


def dates_in(source: str) -> list[dt.date]:
    """The dates written in a source (2026-03-05, 05.03.2026, 5 Mar 2026; a bare year in brackets or
    after a comma counts as its last day): what can be told of how new it is."""
    found: list[dt.date] = []
    for y, m, d in re.findall(r"\b(\d{4})-(\d{2})-(\d{2})\b", source):
        found.extend(_date(int(y), int(m), int(d)))
    for d, m, y in re.findall(r"\b(\d{1,2})\.(\d{1,2})\.(\d{4})\b", source):
        found.extend(_date(int(y), int(m), int(d)))
    for d, mon, y in re.findall(r"\b(\d{1,2}) ([A-Z][a-z]{2})[a-z]* (\d{4})\b", source):
        if mon in _MONTHS:
            found.extend(_date(int(y), _MONTHS.index(mon) + 1, int(d)))
    for y, m in re.findall(r"\b(\d{4})-(\d{2})\)", source):
        found.extend(_date(int(y), int(m), 28))
    if not found:
        for y in re.findall(r"[(,] ?(?:[^(),]*\b)?((?:19|20)\d{2})\)", source):
            found.extend(_date(int(y), 12, 31))
    return found


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _date(y: int, m: int, d: int) -> list[dt.date]:
    try:
        return [dt.date(y, m, d)]
    except ValueError:
        return []
