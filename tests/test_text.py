"""Uzbek Latin -> Cyrillic, word by word, and the folding used to compare what people type."""

from __future__ import annotations

import pytest

from bot.core.normalize import fold, option_number
from bot.core.translit import uz_latin_to_cyrillic

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
