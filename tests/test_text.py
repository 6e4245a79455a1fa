"""Uzbek Latin -> Cyrillic, word by word, and the folding used to compare what people type."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from bot.core.normalize import fold, option_number
from bot.core.translit import _KEEP, uz_latin_to_cyrillic

FLOWS = Path(__file__).resolve().parent.parent / "flows"

WORDS = [
    ("Oʻzbekiston", "Ўзбекистон"), ("oʻzbek", "ўзбек"), ("o'zbek", "ўзбек"), ("o‘zbek", "ўзбек"),
    ("gʻalaba", "ғалаба"), ("yoʻq", "йўқ"), ("maʼlumot", "маълумот"), ("qoʻngʻiroq", "қўнғироқ"),
    ("shoshilinch", "шошилинч"), ("choy", "чой"), ("yangi", "янги"), ("yoz", "ёз"), ("yurt", "юрт"),
    ("yer", "ер"), ("ekan", "экан"), ("Ertaga", "Эртага"), ("poyezd", "поезд"), ("shahar", "шаҳар"),
    ("xizmat", "хизмат"), ("Toshkent", "Тошкент"), ("bogʻliq", "боғлиқ"), ("SHOSHILINCH", "ШОШИЛИНЧ"),
    ("Sh", "Ш"), ("INN", "ИНН"), ("MVD", "МВД"), ("telefon", "телефон"), ("muassasa", "муассаса"),
]


@pytest.mark.parametrize(("latin", "cyrillic"), WORDS)
def test_uzbek_word(latin: str, cyrillic: str) -> None:
    assert uz_latin_to_cyrillic(latin) == cyrillic


def test_what_is_not_uzbek_stays() -> None:
    text = "RuStore ilovasi, mc.mos.ru saytida, https://gosuslugi.ru/x, 112 ga, +7 925 045 4744"
    assert uz_latin_to_cyrillic(text) == ("RuStore иловаси, mc.mos.ru сайтида, https://gosuslugi.ru/x, 112 га, "
                                          "+7 925 045 4744")
    assert uz_latin_to_cyrillic("WhatsApp orqali") == "WhatsApp орқали"
    assert uz_latin_to_cyrillic("Тожикистон va Rossiya") == "Тожикистон ва Россия"


@pytest.mark.parametrize(("latin", "cyrillic"), [
    ("RuID", "RuID"), ("«Gosuslugi RuID» ilovasi", "«Госуслуги RuID» иловаси"), ("QR kod", "QR код"),
    ("INN va SNILS", "ИНН ва СНИЛС"), ("INNingizni", "ИННингизни"), ("SNILS:", "СНИЛС:"),
    ("MMC", "ММЦ"), ("(MMC)dan", "(ММЦ)дан"), ("MMTsdan", "ММЦдан"), ("MFC", "МФЦ"), ("MFCda", "МФЦда"),
    ("Minsifri", "Минцифры"), ("Mintsifry", "Минцифры"), ("Minsifrida", "Минцифрыда"),
    ("OMS polisi", "ОМС полиси"), ("DMS", "ДМС"), ("MVDga", "МВДга"), ("UFMS", "УФМС"), ("FNS", "ФНС"),
    ("YeOII", "ЕОИИ"), ("WhatsAppga yozing", "WhatsAppга ёзинг"), ("Gosuslugi", "Госуслуги"),
    ("koeffitsiyentlarini", "коэффициентларини"), ("Kvitansiya", "Квитанция"), ("litsenziyasi", "лицензияси"),
    ("munitsipal", "муниципал"), ("kompyuterda", "компьютерда"), ("obyekt", "объект"),
    ("Sheremetyevo", "Шереметьево"), ("ketsa", "кетса"), ("patentsiz", "патентсиз"), ("pensiya", "пенсия"),
])
def test_names_and_acronyms_keep_their_form(latin: str, cyrillic: str) -> None:
    assert uz_latin_to_cyrillic(latin) == cyrillic


def test_acronym_inside_a_longer_word_is_not_a_term() -> None:
    # MFC only at a word boundary: an all-caps word that merely starts with it goes letter by letter
    assert uz_latin_to_cyrillic("MFCX QRS") == "МФСХ ҚРС"


def test_urls_addresses_phones_and_placeholders_stay() -> None:
    text = ("MFC: https://www.gosuslugi.ru/mfc, info@mmc.ru, +7 (495) 967-98-44, {paid_until} gacha, "
            "%(num)d kun, %(name)s")
    assert uz_latin_to_cyrillic(text) == ("МФЦ: https://www.gosuslugi.ru/mfc, info@mmc.ru, +7 (495) 967-98-44, "
                                          "{paid_until} гача, %(num)d кун, %(name)s")


def _uzbek_texts(node: Any) -> list[str]:
    """Every `uz:` text of a flow; `cases:` maps country codes (uz: docs_menu) to nodes, not texts."""
    if isinstance(node, dict):
        return [t for key, value in node.items() if key != "cases"
                for t in ([value] if key == "uz" and isinstance(value, str) else _uzbek_texts(value))]
    if isinstance(node, list):
        return [t for value in node for t in _uzbek_texts(value)]
    return []


def test_every_uzbek_flow_text_transliterates_cleanly() -> None:
    """No Latin left outside URLs, names and placeholders, and no loanword ц spelled тс (коэффитсиент)."""
    yaml = YAML(typ="safe")
    problems = []
    for path in sorted(FLOWS.glob("*.yaml")):
        for text in _uzbek_texts(yaml.load(path.read_text(encoding="utf-8"))):
            cyrillic = uz_latin_to_cyrillic(text)
            problems += re.findall(r"\S*[A-Za-z]\S*", _KEEP.sub(" ", cyrillic))
            problems += re.findall(r"\w*тси(?![нз])\w*", cyrillic, re.IGNORECASE)
    assert problems == []


@pytest.mark.parametrize(("a", "b"), [
    ("Меню", "menyu"), ("Тилди өзгөртүү", "тилди озгортуу"), ("Tilni oʻzgartirish", "Тилни ўзгартириш"),
    ("tilni o`zgartirish", "tilni ozgartirish"), ("Менюи асосӣ", "менюи асоси"), ("ОПЕРАТОР!!!", "оператор"),
    ("Ҷавоб", "чавоб"), ("маълумот", "maʼlumot"),
])
def test_fold_makes_variants_equal(a: str, b: str) -> None:
    assert fold(a) == fold(b)


@pytest.mark.parametrize(("text", "number"), [("2", 2), ("2.", 2), (" 2 ", 2), ("2)", 2), ("12", 12),
                                               ("2 3", None), ("два", None), ("", None), ("123", None)])
def test_option_number(text: str, number: int | None) -> None:
    assert option_number(text) == number
