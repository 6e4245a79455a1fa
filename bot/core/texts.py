"""The engine's access to the bot's own strings (gettext catalogs live outside the core)."""

from __future__ import annotations

from typing import Protocol


def N_(message: str) -> str:
    """Marks a string for `pybabel extract` without translating it here."""
    return message


class Texts(Protocol):
    def gettext(self, lang: str, message: str) -> str: ...

    def ngettext(self, lang: str, singular: str, plural: str, n: int) -> str: ...


class Untranslated:
    """Texts that return the English source; for tests of the engine's logic."""

    def gettext(self, lang: str, message: str) -> str:
        return message

    def ngettext(self, lang: str, singular: str, plural: str, n: int) -> str:
        return singular if n == 1 else plural
