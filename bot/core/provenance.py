"""The line that ends a sourced answer: when a person last checked it and against what.

"Проверено: 5 марта 2026 · Источник: 115-ФЗ, ст. 13.3" - one short line in the migrant's language
(the words come from the catalogs, the date from Babel); the source's short form and the bound that
`hotline flows check` counts into the 1,600 characters of a WhatsApp message are the flow format's
(`bot.flowspec.provenance`).
"""

from __future__ import annotations

from babel.dates import format_date

from bot.core.texts import N_, Texts
from bot.flowspec.model import Node
from bot.flowspec.provenance import SEPARATOR, UNSOURCED_TOPICS, dates_in, shown_source

__all__ = ["T_CHECKED", "UNSOURCED_TOPICS", "dates_in", "footer", "shown_source", "with_footer"]

T_CHECKED = N_("Checked: %(date)s · Source: %(source)s")


def footer(node: Node, lang: str, texts: Texts) -> str:
    """The checked/source line of an answer, with its separator; "" when the answer names no sources
    or no review date."""
    if node.type != "answer" or node.topic in UNSOURCED_TOPICS or not node.sources or node.reviewed is None:
        return ""
    date = format_date(node.reviewed, "d MMMM y", locale=lang)
    line = texts.gettext(lang, T_CHECKED) % {"date": date, "source": shown_source(node.sources)}
    return SEPARATOR + line


def with_footer(text: str, node: Node, lang: str, texts: Texts) -> str:
    """An answer's text as the migrant sees it: the text, then its checked/source line."""
    return text + footer(node, lang, texts) if text else text
