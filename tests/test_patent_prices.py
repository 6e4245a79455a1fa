"""The patent price table and calculator, checked by hand against FACTS.md §3 and FACTS-2 A1, A2, B15."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.core.calculators import Names, patent_price, written_number
from bot.core.patent_prices import table
from bot.flows_db.prices_edit import figures, set_deflator, set_price, year_of
from bot.flows_db.yamledit import EditError
from bot.flowspec.loader import load_dir
from bot.flowspec.prices import check, load_text
from bot.flowspec.problems import Problem
from bot.flowspec.regions import region_ids

D = dt.date
FLOWS = Path(__file__).resolve().parent.parent / "flows"
PRICES = load_dir(FLOWS)[0].prices


def test_all_89_regions_and_the_stored_ids() -> None:
    ids = region_ids()
    assert len(ids) == 90 and ids[-1] == "other"
    assert {"moscow", "moscow_oblast", "spb", "tatarstan", "perm", "tver"} <= set(ids)
    assert set(table(PRICES).regions) == set(ids[:-1])
    for region in table(PRICES).regions.values():
        assert region.names["ru"]


def test_published_amounts_agree_with_the_formula() -> None:
    """Where a region has both a coefficient and a published amount, they agree within rounding."""
    t = table(PRICES)
    checked = 0
    for region in t.regions.values():
        for year, entry in region.years.items():
            exact = t.amount_by_formula(region.id, year)
            if entry.amount is not None and exact is not None:
                assert abs(entry.amount - exact) < 1, (region.id, year, entry.amount, exact)
                checked += 1
    assert checked >= 4  # Moscow 2025, 2026; Perm 2025, 2026
    assert t.amount_by_formula("perm", 2026) == pytest.approx(8136.6, abs=0.1)
    assert t.amount_by_formula("perm", 2025) == pytest.approx(7100, abs=0.1)


def test_tatarstan_2026_is_our_arithmetic_with_the_2026_deflator() -> None:
    result = patent_price(region="tatarstan", today=D(2026, 12, 7), prices=PRICES)
    assert result["price_status"] == "computed"
    assert result["price_amount"] == "8 700"
    assert result["price_exact"] == "8 696,52"  # 1,200 × 2.842 × 2.55; never 7,937.64 (2025 deflator)
    assert result["price_year"] == "2026"


def test_perm_2026_published() -> None:
    result = patent_price(region="perm", today=D(2026, 12, 7), prices=PRICES)
    assert (result["price_status"], result["price_amount"]) == ("published", "8 137")
    assert "kommersant.ru/doc/8178676" in str(result["price_source"])
    assert isinstance(result["price_region"], Names) and result["price_region"].get("ky") == "Пермь крайы"


def test_a_region_without_a_coefficient_and_another_region() -> None:
    assert patent_price(region="tver", today=D(2026, 12, 7), prices=PRICES)["price_status"] == "unknown_coefficient"
    assert patent_price(region="other", today=D(2026, 12, 7), prices=PRICES)["price_status"] == "unknown_region"
    krasnodar = patent_price(region="krasnodar", today=D(2026, 12, 7), prices=PRICES)
    assert krasnodar["price_status"] == "unknown_coefficient"


def test_2027_starts_on_1_january_and_is_not_known_yet() -> None:
    assert patent_price(region="moscow", today=D(2026, 12, 31), prices=PRICES)["price_amount"] == "10 000"
    result = patent_price(region="moscow", today=D(2027, 1, 1), prices=PRICES)
    assert (result["price_status"], result["price_year"], result["price_amount"]) == ("unknown_year", "2027", "")


def test_2025_by_the_clock() -> None:
    assert patent_price(region="perm", today=D(2025, 6, 1), prices=PRICES)["price_amount"] == "7 100"


@pytest.mark.parametrize(("typed", "region"), [
    ("piter", "spb"), ("Питер", "spb"), ("spb", "spb"), ("Тверь", "tver"), ("в Твери", "tver"), ("Tver", "tver"),
    ("Qozon", "tatarstan"), ("Казань", "tatarstan"), ("работаю в Казани", "tatarstan"),
    ("Подмосковье", "moscow_oblast"), ("Балашиха", "moscow_oblast"), ("Moskva viloyati", "moscow_oblast"),
    ("москва", "moscow"), ("Маскав", "moscow"), ("Пермь", "perm"), ("нижний новгород", "nizhny_novgorod"),
    ("Екатеринбург", "sverdlovsk"), ("Сургут", "khmao"), ("Ханты", "khmao"), ("Tatariston", "tatarstan"),
])
def test_regions_by_part_of_a_name(typed: str, region: str) -> None:
    assert table(PRICES).find(typed) == [region]


@pytest.mark.parametrize("typed", ["сколько", "patent narxi qancha", "да", "перед"])
def test_words_that_are_no_region(typed: str) -> None:
    assert table(PRICES).find(typed) == []


def test_written_number() -> None:
    assert [written_number(x) for x in (10000.0, 8696.52, 2.3858, 11662.3)] == ["10 000", "8 696,52", "2,3858",
                                                                              "11 662,3"]


def _problems(text: str, today: dt.date = dt.date(2026, 12, 7)) -> list[str]:
    problems: list[Problem] = []
    data = load_text(text, problems)
    return [str(p) for p in problems + check(data, today)]


def test_the_flows_price_table_checks_clean() -> None:
    assert _problems((FLOWS / "_prices.yaml").read_text(encoding="utf-8")) == []


def test_a_bad_price_table_is_told_where() -> None:
    said = _problems("""
formula_base: 1200
deflators:
  2026: {value: 2.842, confidence: V, source: "order 734", date: 2025-11-06}
  1999: {value: -1, confidence: maybe}
prices:
  narnia:
    2026: {coefficient: 2}
  tver:
    2026: {coefficient: 2.0, amount: 9000, confidence: V, source: "x", date: 2027-01-05}
    2025: {colour: red, coefficient: 1.5, confidence: U, source: "y"}
    2024: {confidence: U, source: "z"}
""")
    assert "_prices.yaml > deflators.1999: must be a year between 2015 and 2100, not 1999" in said
    assert "_prices.yaml > deflators.1999.value: must be above zero, not -1" in said
    assert "_prices.yaml > deflators.1999.confidence: must be one of V, V-, U, not maybe" in said
    assert "_prices.yaml > deflators.1999.source: missing: say where the figure comes from" in said
    assert "_prices.yaml > prices.narnia: unknown region id (see bot/flowspec/regions.yaml)" in said
    assert any(s.startswith("_prices.yaml > prices.tver.2025.colour: unknown field") for s in said)
    assert "_prices.yaml > prices.tver.2024: needs a coefficient or an amount" in said
    assert "_prices.yaml > prices.tver.2026.date: 2027-01-05 is after today" in said
    assert ("_prices.yaml > prices.tver.2026: the published amount 9000 does not agree with the formula: "
            "1200 × 2.842 × 2 = 6820.8") in said
    assert _problems("prices: [") and _problems("prices: [")[0].startswith("_prices.yaml: is not valid YAML")


def test_without_a_price_table_every_price_is_unknown() -> None:
    assert patent_price(region="moscow", today=D(2026, 12, 7))["price_status"] == "unknown_year"


def test_the_console_sets_one_region_and_year_keeping_the_file_as_it_was() -> None:
    text = (FLOWS / "_prices.yaml").read_text(encoding="utf-8")
    new = set_price(text, "kaluga", 2026, figures({"coefficient": "2,5", "confidence": "V", "source": "закон",
                                                   "date": "2025-11-20"}))
    assert new.startswith(text.split("prices:")[0])  # the comments and deflators above are untouched
    assert "  kaluga:\n    2026: {coefficient: 2.5, confidence: V, source: закон, date: 2025-11-20}\n" in new
    problems: list[Problem] = []
    data = load_text(new, problems)
    assert problems == [] and data.by_formula("kaluga", 2026) == pytest.approx(8526.0)
    assert set_price(new, "kaluga", 2026, figures({"coefficient": "2.5", "confidence": "V", "source": "закон",
                                                   "date": "2025-11-20"})) == new  # the same figures: no change
    with pytest.raises(EditError, match="does not agree with the formula"):
        set_price(text, "kaluga", 2026, figures({"coefficient": "2.5", "amount": "9000", "confidence": "V",
                                                 "source": "x"}))
    with pytest.raises(EditError, match="confidence: must be one of V, V-, U"):
        set_price(text, "kaluga", 2026, figures({"coefficient": "2.5", "confidence": "sure", "source": "x"}))
    with pytest.raises(EditError, match="not a number"):
        figures({"coefficient": "two"})
    with pytest.raises(EditError, match="not a date"):
        figures({"date": "20.11.2025"})
    with pytest.raises(EditError, match="not a year"):
        year_of("26")
    deflated = set_deflator(text, 2027, figures({"value": "3.01", "confidence": "V", "source": "приказ"}))
    assert load_text(deflated, []).deflator(2027) is not None
