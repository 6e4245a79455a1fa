"""The bot's own strings: every one translated in every language, with the same placeholders."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.core.translit import uz_latin_to_cyrillic
from bot.i18n import LANGS, Catalogs

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w+\}|/forget")


def _catalog(lang: str):  # type: ignore[no-untyped-def]
    with (ROOT / "translations" / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale=lang)


def _template() -> set[str]:
    with (ROOT / "translations" / "messages.pot").open("rb") as f:
        return {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(f) if m.id}


@pytest.mark.parametrize("lang", LANGS)
def test_every_string_translated_with_same_placeholders(lang: str) -> None:
    catalog = _catalog(lang)
    ids = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}
    assert ids == _template(), "run `make translations` and translate what is new"
    for message in catalog:
        if not message.id:
            continue
        assert not message.fuzzy, f"{lang}: fuzzy: {message.id!r}"
        sources = [message.id] if isinstance(message.id, str) else list(message.id)
        targets = [message.string] if isinstance(message.string, str) else list(message.string)
        for target in targets:
            assert target, f"{lang}: untranslated: {sources[0]!r}"
            assert sorted(PLACEHOLDER.findall(target)) == sorted(PLACEHOLDER.findall(sources[0])), \
                f"{lang}: placeholders differ in {sources[0]!r}"


def test_uzbek_catalog_is_latin_and_transliterates() -> None:
    for message in _catalog("uz"):
        if not message.id:
            continue
        texts = [message.string] if isinstance(message.string, str) else list(message.string)
        for text in texts:
            assert not re.search(r"[а-яА-ЯўқғҳЎҚҒҲ]", text), f"Uzbek must be written in Latin: {text!r}"
            cyrillic = uz_latin_to_cyrillic(text)
            letters = re.sub(r"/forget|%\(\w+\)[sd]|[^A-Za-z]", "", cyrillic)
            assert letters == "", f"Latin left after transliteration: {cyrillic!r}"


def test_compiled_catalogs_are_used(tmp_path: Path) -> None:
    catalogs = Catalogs(ROOT / "translations")
    assert catalogs.gettext("ru", "Did this help?") != "Did this help?"
    assert catalogs.ngettext("ru", "%(num)d day", "%(num)d days", 5) % {"num": 5} == "5 дней"
    assert catalogs.ngettext("ru", "%(num)d day", "%(num)d days", 2) % {"num": 2} == "2 дня"
    for lang in LANGS:
        assert catalogs.gettext(lang, "Yes") != "Yes"


# -- the console's own catalog (Russian; English is the source) -----------------------------------------

CONSOLE_KEYWORDS = {"L_": None, "_": None, "ngettext": (1, 2)}


def _console_ids_in_sources() -> set[str]:
    """What `make translations` would extract for the console now (Python marked L_, templates _())."""
    from babel.messages.extract import extract_from_dir

    found = extract_from_dir(str(ROOT), method_map=[("bot/console/**.py", "python"), ("handoff/**.py", "python"),
                                                    ("bot/console/templates/**.html", "jinja2")],
                             keywords=CONSOLE_KEYWORDS)
    return {m if isinstance(m, str) else m[0] for _file, _line, m, _comments, _context in found}


def test_the_console_catalog_is_current_and_every_string_translated_to_russian() -> None:
    with (ROOT / "translations" / "console.pot").open("rb") as f:
        template = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(f) if m.id}
    assert _console_ids_in_sources() == template, "run `make translations` and translate what is new"
    with (ROOT / "translations" / "ru" / "LC_MESSAGES" / "console.po").open("rb") as f:
        catalog = read_po(f, locale="ru")
    assert {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id} == template
    for message in catalog:
        if not message.id:
            continue
        assert not message.fuzzy, f"console: fuzzy: {message.id!r}"
        source = message.id if isinstance(message.id, str) else message.id[0]
        targets = [message.string] if isinstance(message.string, str) else list(message.string)
        for target in targets:
            assert target and re.search(r"[а-яё]", target, re.I), f"console: untranslated: {source!r}"
            assert sorted(PLACEHOLDER.findall(target)) == sorted(PLACEHOLDER.findall(source)), \
                f"console: placeholders differ in {source!r}"
