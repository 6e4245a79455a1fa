"""The bot's own strings in four languages: gettext catalogs in translations/, managed with Babel.

Catalogs are compiled (.po -> .mo) by `make` and, when a .mo is missing or older than its .po, here
at start-up, so a fresh clone needs no separate step.
"""

from __future__ import annotations

import gettext
import logging
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot import vocabulary

log = logging.getLogger(__name__)
DOMAIN = "messages"
LANGS = vocabulary.LANGS


def compile_catalogs(directory: Path, domain: str = DOMAIN) -> list[Path]:
    """Compile every stale catalog of `domain` (the bot's, or the console's); returns the .mo files written."""
    written: list[Path] = []
    for po in sorted(directory.glob(f"*/LC_MESSAGES/{domain}.po")):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as f:
            catalog = read_po(f, locale=po.parent.parent.name)
        with mo.open("wb") as f:
            write_mo(f, catalog, use_fuzzy=False)
        written.append(mo)
    return written


class Catalogs:
    """Texts backed by the compiled catalogs; a missing catalog falls back to the English source."""

    def __init__(self, directory: Path):
        try:
            compile_catalogs(directory)
        except OSError as exc:  # a read-only install: use what is compiled
            log.warning("could not compile translations in %s: %s", directory, exc)
        self._t: dict[str, gettext.NullTranslations] = {}
        for lang in LANGS:
            try:
                self._t[lang] = gettext.translation(DOMAIN, localedir=directory, languages=[lang])
            except OSError:
                log.warning("no compiled catalog for %s in %s", lang, directory)
                self._t[lang] = gettext.NullTranslations()

    def gettext(self, lang: str, message: str) -> str:
        return self._t.get(lang, self._t["ru"]).gettext(message)

    def ngettext(self, lang: str, singular: str, plural: str, n: int) -> str:
        return self._t.get(lang, self._t["ru"]).ngettext(singular, plural, n)
