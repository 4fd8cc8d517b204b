"""Addresses from before the 2025 reform, and a search that says "not found" when it should."""

from __future__ import annotations

import pytest

from bench.communes import load_garbage, load_old_cases, old_right
from bot.geo import Commune, CommuneIndex, Province, load_communes
from bot.geo._old import DATA_FILE, OldUnits
from bot.geo._places import _typo


@pytest.fixture(scope="module")
def lists() -> tuple[list[Province], list[Commune]]:
    return load_communes()


@pytest.fixture(scope="module")
def index(lists: tuple[list[Province], list[Commune]]) -> CommuneIndex:
    return CommuneIndex(*lists)


def names(index: CommuneIndex, text: str) -> list[str]:
    return [c.commune.name for c in index.search(text, limit=40)]


def test_the_data_file_says_where_it_comes_from_and_uses_our_codes(
        lists: tuple[list[Province], list[Commune]]) -> None:
    head = DATA_FILE.read_text(encoding="utf-8").splitlines()[:4]
    assert "vietnam-provinces 2026" in head[1] and "GPL" in head[1]
    assert "scripts/old_addresses.py" in head[1]
    _, communes = lists
    known = {c.code for c in communes}
    rows = [line.split("\t") for line in DATA_FILE.read_text(encoding="utf-8").splitlines()
            if line.startswith("W\t")]
    assert len(rows) > 10_000
    assert all(code in known for row in rows for code in row[4].split(","))
    units = OldUnits.load({c.code: c.province_code for c in communes})
    assert len(units) == len(rows)


@pytest.mark.parametrize(("text", "expected", "old"), [
    ("Phường Bến Nghé, Quận 1, TP HCM", ["Phường Sài Gòn"],
     "Phường Bến Nghé, Quận 1, Thành phố Hồ Chí Minh"),
    ("phuong ben nghe q1", ["Phường Sài Gòn"], "Phường Bến Nghé, Quận 1, Thành phố Hồ Chí Minh"),
    # split between two new wards: both named, nothing else
    ("phuong da kao quan 1 hcm", ["Phường Tân Định", "Phường Sài Gòn"],
     "Phường Đa Kao, Quận 1, Thành phố Hồ Chí Minh"),
    # a province name inside an old ward's name, the province said last or not at all
    ("phuong nguyen thai binh quan 1", ["Phường Sài Gòn", "Phường Bến Thành"],
     "Phường Nguyễn Thái Bình, Quận 1, Thành phố Hồ Chí Minh"),
    # an old district alone: all its communes
    ("quan 1 hcm", ["Phường Tân Định", "Phường Sài Gòn", "Phường Bến Thành",
                    "Phường Cầu Ông Lãnh"], "Quận 1, Thành phố Hồ Chí Minh"),
    # a typo in the old commune, inside the district named
    ("xa tan lapp huyen dan phuong ha noi", ["Xã Ô Diên", "Xã Hoài Đức"],
     "Xã Tân Lập, Huyện Đan Phượng, Thành phố Hà Nội"),
])
def test_old_addresses_name_the_communes_they_became(index: CommuneIndex, text: str,
                                                     expected: list[str], old: str) -> None:
    found = index.search(text, limit=40)
    assert [c.commune.name for c in found] == expected
    assert {c.old for c in found} == {old}


def test_phuong_1_quan_3_is_in_ho_chi_minh_city_not_bao_loc(index: CommuneIndex) -> None:
    found = index.search("phường 1 quận 3", limit=40)
    assert found and all(c.commune.province_code == "79" for c in found)
    assert all(c.old == "Phường 1, Quận 3, Thành phố Hồ Chí Minh" for c in found)


def test_todays_names_are_not_labelled_old(index: CommuneIndex) -> None:
    [ben_thanh, *_] = index.search("Phường Bến Thành, TP HCM")
    assert (ben_thanh.commune.name, ben_thanh.old) == ("Phường Bến Thành", None)


def test_the_old_province_picks_between_districts_of_one_name(index: CommuneIndex) -> None:
    # Trà Vinh and Bến Tre both had a Huyện Châu Thành; both are in Vĩnh Long today.
    tra_vinh = index.search("huyện Châu Thành, Trà Vinh", limit=40)
    ben_tre = index.search("huyện Châu Thành, Bến Tre", limit=40)
    assert tra_vinh[0].old == "Huyện Châu Thành, Tỉnh Trà Vinh"
    assert ben_tre[0].old == "Huyện Châu Thành, Tỉnh Bến Tre"


@pytest.mark.parametrize("text", [
    "xa khong ton tai", "<b>x</b>", "asdfgh", "ho chi minh", "hcm", "TP HCM", "1", "quan 99",
    "xã không biết", "phuong xyz hcm",
])
def test_nonsense_and_provinces_alone_find_no_commune(index: CommuneIndex, text: str) -> None:
    assert index.search(text, limit=40) == []


def test_province_words_filter_and_are_never_part_of_a_name(index: CommuneIndex) -> None:
    found = index.search("phuong ben thanh hcm", limit=40)
    assert [c.commune.name for c in found] == ["Phường Bến Thành"]
    assert "Xã Chí Minh" not in names(index, "ho chi minh")


@pytest.mark.parametrize(("text", "codes"), [
    ("hcm", ["79"]), ("TP HCM", ["79"]), ("ho chi minh", ["79"]), ("Hồ Chí Minh", ["79"]),
    ("tphcm", ["79"]), ("sài gòn", ["79"]), ("hn", ["01"]), ("Hà Nội", ["01"]),
    ("thành phố hà nội", ["01"]), ("dn", ["48", "75"]), ("binh duong", ["79"]),
    ("ben thanh hcm", []), ("xyz", []),
])
def test_provinces_named(index: CommuneIndex, text: str, codes: list[str]) -> None:
    assert [p.code for p in index.provinces_named(text)] == codes


@pytest.mark.parametrize(("text", "name", "typo"), [
    ("ben thnah", "ben thanh", True), ("dihn", "dinh", True), ("benthanh", "ben thanh", True),
    ("khong ton", "hong son", False), ("vo danh", "vo tranh", False), ("pho", "phong", False),
    ("ben thanh", "ben thanh", True),
])
def test_a_typo_is_one_word_off(text: str, name: str, typo: bool) -> None:
    assert _typo(text, name) is typo


def test_the_benchmark_sets_meet_their_targets(index: CommuneIndex) -> None:
    old = load_old_cases()
    assert len(old) >= 150
    right = sum(old_right(case, index.search(case.text, limit=40)) for case in old)
    assert right / len(old) >= 0.90
    garbage = load_garbage()
    assert len(garbage) >= 50
    assert sum(1 for text in garbage if not index.search(text)) / len(garbage) >= 0.95
