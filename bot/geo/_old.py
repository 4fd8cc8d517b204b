"""Addresses from before the reform of 1 Jul 2025: old communes (xã, phường, thị trấn) with their
district and province, and old districts alone, read back to the communes that replaced them.

The conversion is the official one, generated into ``old_units_2025.tsv`` by
``scripts/old_addresses.py`` (see there for where it comes from). Matching works on the same
search tokens as the commune index: an old commune is recognised by its name next to its district
("phường 1 quận 3", "ben nghe q1"), or by its name and a kind word in a named province ("xã Tân
Lập, Hà Nội"); a district by its name after a kind word ("quận Gò Vấp", "huyen cu chi") or by a
name that is only a district's. Typos are forgiven in an old commune's name inside a district
that was named, and in a district's name right after its kind word ("huyen dong phuu").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz import fuzz, process

from bot.geo._places import _search_tokens, _typo

DATA_FILE = Path(__file__).with_name("old_units_2025.tsv")

# Kind words before an old district's or an old commune's name, folded and as search tokens.
_DISTRICT_KINDS = {"quan", "q", "huyen", "h", "thi xa", "tx", "thanh pho", "tp", "t p"}
_WARD_KINDS = {"phuong", "p", "f", "ph", "xa", "x", "thi tran", "tt"}
_KIND_PREFIXES = ("Quận ", "Huyện ", "Thị xã ", "Thành phố ", "Phường ", "Xã ", "Thị trấn ",
                  "Tỉnh ")

_MAX_NAME_TOKENS = 5
_FUZZY_CUTOFF = 70.0  # candidates for a typo, each then checked by _typo
_DISTRICT_FUZZY_CUTOFF = 85.0
_TYPO_SCORE = 97.0
_OTHER_OLD_PROVINCE_PENALTY = 3.0  # "Huyện Châu Thành, Trà Vinh", not the one of Bến Tre
_NOISE_PENALTY = 3.0
_MAX_NOISE_PENALTY = 20.0
_OTHER_PROVINCE_PENALTY = 15.0
# How sure each reading is before noise: an old commune in the district that was named is as
# good as a current name; a kind word and a province make a likely old commune; a district alone
# is a list to choose from.
_WARD_IN_DISTRICT = 100.0
_WARD_IN_PROVINCE = 92.0
_WARD_ALONE = 86.0
_UNMARKED_WARD_PENALTY = 4.0  # "Tân Lập, Hà Nội" is less surely a commune than "xã Tân Lập"
_DISTRICT_MARKED = 95.0
_DISTRICT_UNMARKED = 85.0


@dataclass(frozen=True, slots=True)
class OldMatch:
    """New communes (codes) that an old unit went to, how sure the reading is, and the old
    unit's full name as it was ("Phường Bến Nghé, Quận 1, Thành phố Hồ Chí Minh")."""

    codes: tuple[str, ...]
    score: float
    old: str


@dataclass(frozen=True, slots=True)
class OldReading:
    matches: list[OldMatch]
    within: frozenset[str] | None  # the communes of the districts named with a kind word
    # ("quận 3": anything outside it is not what was meant); None when none is
    district_at: frozenset[int]  # where those districts are named: not a commune's name


@dataclass(frozen=True, slots=True)
class _District:
    name: str
    province: str  # old province name
    province_key: str  # its folded name between spaces, to find among the query's words
    provinces: frozenset[str]  # today's province codes its communes lie in
    codes: tuple[str, ...]  # today's communes, in the order of the conversion
    wards: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class _Ward:
    name: str
    district: int
    codes: tuple[str, ...]
    provinces: frozenset[str]


@dataclass(frozen=True, slots=True)
class _Mention:
    start: int
    end: int  # tokens [start, end) hold the name
    marked: int  # where the kind word before it starts (== start when there is none)
    ids: tuple[int, ...]


def _core_tokens(name: str) -> str:
    for prefix in _KIND_PREFIXES:
        if name.startswith(prefix):
            name = name[len(prefix):]
            break
    return " ".join(_search_tokens(name))


class OldUnits:
    """The pre-2025 communes and districts, searchable; ``province_of`` gives a new commune's
    province code (from the current list), so old units can be filtered by a named province."""

    def __init__(self, lines: Iterable[str], province_of: Mapping[str, str]) -> None:
        provinces: dict[str, str] = {}
        districts: dict[str, tuple[str, str]] = {}
        wards: list[tuple[str, str, tuple[str, ...]]] = []
        for line in lines:
            if not line.strip() or line.startswith("#"):
                continue
            fields = line.rstrip("\n").split("\t")
            if fields[0] == "P":
                provinces[fields[1]] = fields[2]
            elif fields[0] == "D":
                districts[fields[1]] = (fields[2], fields[3])
            elif fields[0] == "W":
                codes = tuple(c for c in fields[4].split(",") if c in province_of)
                if codes:
                    wards.append((fields[2], fields[3], codes))
        order = {code: position for position, code in enumerate(districts)}
        members: dict[int, list[int]] = {}
        self._wards: list[_Ward] = []
        for name, district_code, codes in wards:
            position = order[district_code]
            members.setdefault(position, []).append(len(self._wards))
            self._wards.append(_Ward(name, position, codes,
                                     frozenset(province_of[c] for c in codes)))
        self._districts: list[_District] = []
        for position, (name, province_code) in enumerate(districts.values()):
            ids = tuple(members.get(position, ()))
            codes = tuple(dict.fromkeys(c for i in ids for c in self._wards[i].codes))
            province = provinces.get(province_code, "")
            self._districts.append(_District(
                name, province, f" {_core_tokens(province)} ",
                frozenset(province_of[c] for c in codes), codes, ids))
        self._ward_cores = [_core_tokens(w.name) for w in self._wards]
        self._ward_keys: dict[str, list[int]] = {}
        for index, core in enumerate(self._ward_cores):
            self._ward_keys.setdefault(core, []).append(index)
        self._district_keys: dict[str, list[int]] = {}
        for index, district in enumerate(self._districts):
            if district.codes:
                self._district_keys.setdefault(_core_tokens(district.name), []).append(index)
        self._district_key_list = sorted(self._district_keys)

    @classmethod
    def load(cls, province_of: Mapping[str, str], path: Path = DATA_FILE) -> OldUnits:
        with path.open(encoding="utf-8") as lines:
            return cls(lines, province_of)

    def __len__(self) -> int:
        return len(self._wards)

    def full_name(self, ward: int) -> str:
        unit = self._wards[ward]
        district = self._districts[unit.district]
        return f"{unit.name}, {district.name}, {district.province}"

    def match(self, tokens: list[str], provinces: frozenset[str] | None,
              skip: frozenset[int]) -> OldReading:
        """What ``tokens`` say the pre-2025 way. ``provinces`` are today's province codes named
        in the query (None: none), ``skip`` the positions of those province words."""
        districts = self._mentions(tokens, self._district_keys, _DISTRICT_KINDS, skip)
        districts.extend(self._fuzzy_districts(tokens, districts, provinces))
        marked = [(d, self._districts[i]) for d in districts if d.marked < d.start for i in d.ids
                  if provinces is None or self._districts[i].provinces & provinces]
        within = frozenset(c for _d, unit in marked for c in unit.codes) if marked else None
        named_at = frozenset(i for d, _unit in marked for i in range(d.marked, d.end))
        found: list[OldMatch] = []
        for district in districts:
            for position in district.ids:
                found.extend(self._wards_in(tokens, district, position, provinces, skip))
        # An old commune without its district: only with a kind word, and in the province
        # named or, when none is, the only one of that name.
        wards = [] if within is not None else self._mentions(
            tokens, self._ward_keys, _WARD_KINDS, skip)
        for ward in wards:
            if provinces is None and (ward.marked == ward.start or len(ward.ids) > 1):
                continue
            for index in ward.ids:
                unit = self._wards[index]
                if provinces is not None and not unit.provinces & provinces:
                    continue
                base = _WARD_IN_PROVINCE if provinces is not None else _WARD_ALONE
                if ward.marked == ward.start:
                    base -= _UNMARKED_WARD_PENALTY
                covered = set(range(ward.marked, ward.end)) | skip
                if provinces is None and len(covered) < len(tokens):
                    continue  # an old name with other words and no province is a guess
                found.append(OldMatch(unit.codes, base - self._noise(tokens, covered),
                                      self.full_name(index)))
        for district in districts:
            for position in district.ids:
                place = self._districts[position]
                base = _DISTRICT_MARKED if district.marked < district.start else _DISTRICT_UNMARKED
                base -= self._province_penalty(place, tokens, provinces, skip)
                covered = set(range(district.marked, district.end)) | skip
                found.append(OldMatch(place.codes, base - self._noise(tokens, covered),
                                      f"{place.name}, {place.province}"))
        return OldReading(found, within, named_at)

    def _wards_in(self, tokens: list[str], district: _Mention, position: int,
                  provinces: frozenset[str] | None, skip: frozenset[int]) -> Iterable[OldMatch]:
        """The old commune named beside a named district, exactly or with a typo."""
        unit = self._districts[position]
        penalty = self._province_penalty(unit, tokens, provinces, skip)
        rest = [i for i in range(len(tokens))
                if (i < district.marked or i >= district.end) and i not in skip]
        cores = {self._ward_cores[i]: i for i in unit.wards}
        names = list(cores)
        for run in _runs(rest):
            last = run[-1] + 1
            for start in range(max(run[0], last - _MAX_NAME_TOKENS), last):
                if tokens[start] in _WARD_KINDS:
                    continue
                kind = _kind_before(tokens, start, _WARD_KINDS)
                kind = max(kind, run[0])
                text = " ".join(tokens[start:last])
                if text in cores:
                    name, score = text, _WARD_IN_DISTRICT
                elif any(word.isdigit() for word in tokens[start:last]):
                    continue  # "phường 11" is not "Phường 1" mistyped
                else:
                    name = next((n for n, _s, _i in process.extract(
                        text, names, scorer=fuzz.ratio, processor=None,
                        score_cutoff=_FUZZY_CUTOFF, limit=5) if _typo(text, n)), "")
                    score = _TYPO_SCORE
                if not name or (text.isdigit() and kind == start):
                    continue
                covered = set(range(kind, last)) | set(range(district.marked, district.end)) | skip
                index = cores[name]
                score -= penalty
                yield OldMatch(self._wards[index].codes, score - self._noise(tokens, covered),
                               self.full_name(index))

    def _fuzzy_districts(self, tokens: list[str], exact: list[_Mention],
                         provinces: frozenset[str] | None) -> list[_Mention]:
        """A district with a typo, only right after a district kind word ("huyen dong phuu")."""
        if exact:
            return []
        found: list[_Mention] = []
        for start in range(len(tokens)):
            kind = _kind_before(tokens, start, _DISTRICT_KINDS)
            if kind == start or tokens[start].isdigit():
                continue
            for end in range(start + 1, min(start + _MAX_NAME_TOKENS, len(tokens)) + 1):
                text = " ".join(tokens[start:end])
                hit = process.extractOne(text, self._district_key_list, scorer=fuzz.ratio,
                                         processor=None, score_cutoff=_DISTRICT_FUZZY_CUTOFF)
                if hit is None or hit[0].isdigit():
                    continue
                ids = tuple(i for i in self._district_keys[hit[0]]
                            if provinces is None or self._districts[i].provinces & provinces)
                if ids:
                    found.append(_Mention(start, end, kind, ids))
        return found

    @staticmethod
    def _mentions(tokens: list[str], keys: Mapping[str, list[int]], kinds: set[str],
                  skip: frozenset[int]) -> list[_Mention]:
        found: list[_Mention] = []
        for start in range(len(tokens)):
            for end in range(start + 1, min(start + _MAX_NAME_TOKENS, len(tokens)) + 1):
                text = " ".join(tokens[start:end])
                ids = keys.get(text)
                if ids is None:
                    continue
                marked = _kind_before(tokens, start, kinds)
                if text.isdigit() and marked == start:
                    continue  # "1" is no place; "quận 1" is
                if marked == start and all(i in skip for i in range(start, end)):
                    continue  # the province itself ("Bến Tre") is not its old town
                found.append(_Mention(start, end, marked, tuple(ids)))
        return found

    @staticmethod
    def _province_penalty(district: _District, tokens: list[str],
                          provinces: frozenset[str] | None, skip: frozenset[int]) -> float:
        if provinces is None:
            return 0.0
        if not district.provinces & provinces:
            return _OTHER_PROVINCE_PENALTY
        said = " " + " ".join(tokens[i] for i in sorted(skip)) + " "
        return 0.0 if district.province_key in said else _OTHER_OLD_PROVINCE_PENALTY

    @staticmethod
    def _noise(tokens: list[str], covered: set[int] | frozenset[int]) -> float:
        unexplained = sum(1 for i in range(len(tokens)) if i not in covered)
        return min(_MAX_NOISE_PENALTY, _NOISE_PENALTY * unexplained)


def _kind_before(tokens: list[str], start: int, kinds: set[str]) -> int:
    if start >= 2 and " ".join(tokens[start - 2:start]) in kinds:
        return start - 2
    if start >= 1 and tokens[start - 1] in kinds:
        return start - 1
    return start


def _runs(positions: list[int]) -> list[list[int]]:
    runs: list[list[int]] = []
    for position in positions:
        if runs and runs[-1][-1] == position - 1:
            runs[-1].append(position)
        else:
            runs.append([position])
    return runs
