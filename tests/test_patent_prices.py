"""The patent price table and calculator, checked by hand against FACTS.md §3 and FACTS-2 A1, A2, B15."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.core.calculators import Names, patent_price, written_number
from bot.core.patent_prices import table
from bot.flowspec.regions import region_ids

D = dt.date


def test_all_89_regions_and_the_stored_ids() -> None:
    ids = region_ids()
    assert len(ids) == 90 and ids[-1] == "other"
    assert {"moscow", "moscow_oblast", "spb", "tatarstan", "perm", "tver"} <= set(ids)
    assert set(table().regions) == set(ids[:-1])
    for region in table().regions.values():
        assert region.names["ru"]


def test_published_amounts_agree_with_the_formula() -> None:
    """Where a region has both a coefficient and a published amount, they agree within rounding."""
    t = table()
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
    result = patent_price(region="tatarstan", today=D(2026, 12, 7))
    assert result["price_status"] == "computed"
    assert result["price_amount"] == "8 700"
    assert result["price_exact"] == "8 696,52"  # 1,200 × 2.842 × 2.55; never 7,937.64 (2025 deflator)
    assert result["price_year"] == "2026"


def test_perm_2026_published() -> None:
    result = patent_price(region="perm", today=D(2026, 12, 7))
    assert (result["price_status"], result["price_amount"]) == ("published", "8 137")
    assert "kommersant.ru/doc/8178676" in str(result["price_source"])
    assert isinstance(result["price_region"], Names) and result["price_region"].get("ky") == "Пермь крайы"


def test_a_region_without_a_coefficient_and_another_region() -> None:
    assert patent_price(region="tver", today=D(2026, 12, 7))["price_status"] == "unknown_coefficient"
    assert patent_price(region="other", today=D(2026, 12, 7))["price_status"] == "unknown_region"
    assert patent_price(region="krasnodar", today=D(2026, 12, 7))["price_status"] == "unknown_coefficient"


def test_2027_starts_on_1_january_and_is_not_known_yet() -> None:
    assert patent_price(region="moscow", today=D(2026, 12, 31))["price_amount"] == "10 000"
    result = patent_price(region="moscow", today=D(2027, 1, 1))
    assert (result["price_status"], result["price_year"], result["price_amount"]) == ("unknown_year", "2027", "")


def test_2025_by_the_clock() -> None:
    assert patent_price(region="perm", today=D(2025, 6, 1))["price_amount"] == "7 100"


@pytest.mark.parametrize(("typed", "region"), [
    ("piter", "spb"), ("Питер", "spb"), ("spb", "spb"), ("Тверь", "tver"), ("в Твери", "tver"), ("Tver", "tver"),
    ("Qozon", "tatarstan"), ("Казань", "tatarstan"), ("работаю в Казани", "tatarstan"),
    ("Подмосковье", "moscow_oblast"), ("Балашиха", "moscow_oblast"), ("Moskva viloyati", "moscow_oblast"),
    ("москва", "moscow"), ("Маскав", "moscow"), ("Пермь", "perm"), ("нижний новгород", "nizhny_novgorod"),
    ("Екатеринбург", "sverdlovsk"), ("Сургут", "khmao"), ("Ханты", "khmao"), ("Tatariston", "tatarstan"),
])
def test_regions_by_part_of_a_name(typed: str, region: str) -> None:
    assert table().find(typed) == [region]


@pytest.mark.parametrize("typed", ["сколько", "patent narxi qancha", "да", "перед"])
def test_words_that_are_no_region(typed: str) -> None:
    assert table().find(typed) == []


def test_written_number() -> None:
    assert [written_number(x) for x in (10000.0, 8696.52, 2.3858, 11662.3)] == ["10 000", "8 696,52", "2,3858",
                                                                              "11 662,3"]
