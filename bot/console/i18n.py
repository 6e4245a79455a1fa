"""The console's own words: Russian by default, English by the user's choice (a cookie set by the switch
in the menu), from the `console` gettext domain in translations/ (English is the source, so it needs no
catalog). Times are shown in the office's time zone, with its name."""

from __future__ import annotations

import datetime as dt
import gettext
import logging
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.i18n import compile_catalogs

log = logging.getLogger(__name__)
DOMAIN = "console"
UI_LANGS = {"ru": "Русский", "en": "English"}
DEFAULT_UI_LANG = "ru"
COOKIE = "hotline_console_lang"
TRANSLATIONS = Path(__file__).resolve().parents[2] / "translations"


def L_(message: str) -> str:
    """Marks a console string for `make translations`; it is translated where it is shown."""
    return message


class ConsoleTexts:
    def __init__(self, directory: Path = TRANSLATIONS):
        try:
            compile_catalogs(directory, DOMAIN)
        except OSError as exc:  # a read-only install: use what is compiled
            log.warning("could not compile the console's translations in %s: %s", directory, exc)
        self._t: dict[str, gettext.NullTranslations] = {"en": gettext.NullTranslations()}
        for lang in UI_LANGS:
            if lang == "en":
                continue
            try:
                self._t[lang] = gettext.translation(DOMAIN, localedir=directory, languages=[lang])
            except OSError:
                log.warning("no compiled console catalog for %s in %s", lang, directory)
                self._t[lang] = gettext.NullTranslations()

    def gettext(self, lang: str, message: str, /, **params: Any) -> str:
        text = self._t.get(lang, self._t[DEFAULT_UI_LANG]).gettext(message)
        return text % params if params else text

    def ngettext(self, lang: str, singular: str, plural: str, n: int, /, **params: Any) -> str:
        text = self._t.get(lang, self._t[DEFAULT_UI_LANG]).ngettext(singular, plural, n)
        return text % {"num": n, **params}


def ui_lang(cookie: str | None) -> str:
    return cookie if cookie in UI_LANGS else DEFAULT_UI_LANG


def local_time(value: dt.datetime | None, tz: ZoneInfo, fmt: str = "%d.%m %H:%M") -> str:
    """A stored time (UTC; naive from SQLite) in the office's zone, with the zone's abbreviation."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    local = value.astimezone(tz)
    return f"{local.strftime(fmt)} {local.tzname()}"
