"""The commune search: exact names from a dict, the rest scored by rapidfuzz, with penalties
for noise, another province or another kind of unit; then the same query read as an address of
before 2025 (:mod:`bot.geo._old`). Candidates far below the best one are dropped: a list is a
choice between likely places, never filler."""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from rapidfuzz import fuzz, process

from bot.geo._old import OldReading, OldUnits
from bot.geo._places import (
    _FORMER_PROVINCES,
    _MARKERS,
    _SHORT_FORMS,
    Candidate,
    Commune,
    Province,
    _accented,
    _core,
    _search_tokens,
    _typo,
)
from bot.text import fold

MAX_QUERY_CHARS = 200
_ACCENT_PENALTY = 2.0
_ADJACENT_NOISE_PENALTY = 6.0
_APOSTROPHES = re.compile(r"['’‘`]")
_FORMER_DISTRICT = {"quan", "q"}  # "quận 1", "q1": districts are gone, the number means nothing
_FUZZY_CUTOFF = 75.0
_FUZZY_LIMIT = 25
_FUZZY_NOISE_FACTOR = 2.0
_MAX_ALIAS_TOKENS = 5
_MAX_FUZZY_STRINGS = 12
_MAX_NAME_TOKENS = 6
_MAX_NOISE_PENALTY = 20.0
_MAX_QUERY_TOKENS = 32  # a full street address fits; more is a message, not a place
_MAX_WINDOWS_PER_STRING = 3
_MIN_SCORE = 70.0
_NAME_PARTS = re.compile(r"\s+[-–]\s+")
_NOISE_PENALTY = 3.0
_OTHER_KIND_PENALTY = 4.0
_OTHER_PROVINCE_PENALTY = 15.0
_PART_SCORE = 97.0  # one side of "Văn Miếu - Quốc Tử Giám": right, but less sure than the full name
_PREFIX_LIMIT = 40
_PROVINCE_AS_NAME_PENALTY = 20.0
_PROVINCE_PREFIXES = {"tinh", "tp", "thanh pho", "t p"}
_RELATIVE_MARGIN = 10.0  # a candidate this far below the best one is noise, not a choice
_TIE = 1e-6


@dataclass(frozen=True, slots=True)
class _Span:
    start: int
    end: int
    provinces: frozenset[str]
    prefixed: bool  # "tỉnh", "tp", "thành phố" said it is a province
    former: bool  # a province merged in 2025, whose name lives on as its old capital's ward


@dataclass(frozen=True, slots=True)
class _Query:
    tokens: list[str]
    padded: str  # " tok tok ", to find a folded name among the words
    markers: dict[int, str | None]  # token position -> kind it announces
    spans: list[_Span]  # province mentions
    former: frozenset[int]  # positions of a former district ("quận 1"), neither name nor noise
    accented: str | None  # set when the text carries diacritics
    # Where a district of before 2025 is named after its kind word ("huyện Đan Phượng").
    districts: frozenset[int] = field(default_factory=frozenset)


@dataclass(frozen=True, slots=True)
class _Window:
    """Tokens [start, end) read as a commune name, and what the rest of the query says."""

    start: int
    end: int
    penalty: float  # words left unexplained, or a name that was said to be a province
    provinces: frozenset[str] | None  # provinces named outside the window
    kind: str | None


class _Keys:
    """Folded names with the communes they stand for, for fuzzy and prefix scans."""

    def __init__(self, owners: dict[str, list[tuple[int, float]]]) -> None:
        self.keys = sorted(owners)
        self.owners = [owners[key] for key in self.keys]

    def fuzzy(self, text: str) -> Iterable[tuple[int, float]]:
        for _key, score, position in process.extract(
                text, self.keys, scorer=fuzz.ratio, processor=None,
                score_cutoff=_FUZZY_CUTOFF, limit=_FUZZY_LIMIT):
            if not _typo(text, _key):
                continue
            for index, weight in self.owners[position]:
                yield index, score * weight / 100.0

    def prefixed(self, text: str) -> Iterable[tuple[int, float]]:
        position = bisect.bisect_left(self.keys, text)
        for key, owners in zip(self.keys[position:position + _PREFIX_LIMIT],
                               self.owners[position:position + _PREFIX_LIMIT], strict=False):
            if not key.startswith(text):
                break
            # Someone still typing: the more of the name is there, the surer.
            score = 70.0 + 25.0 * len(text) / len(key)
            for index, weight in owners:
                yield index, score * weight / 100.0


class CommuneIndex:
    def __init__(self, provinces: Sequence[Province], communes: Sequence[Commune],
                 old: OldUnits | None = None) -> None:
        self._provinces = list(provinces)
        self._province_by_code = {p.code: p for p in self._provinces}
        self._communes = list(communes)
        self._by_code = {c.code: c for c in self._communes}
        self._folded_core = [fold(_core(c)) for c in self._communes]
        self._accented_core = [_accented(_core(c)) for c in self._communes]
        self._core_by_code = {c.code: core for c, core in zip(self._communes, self._folded_core,
                                                               strict=True)}
        self._exact: dict[str, list[tuple[int, float]]] = {}
        per_province: dict[str, dict[str, list[tuple[int, float]]]] = {
            p.code: {} for p in self._provinces}
        for index, commune in enumerate(self._communes):
            for key, score in self._names(commune, self._folded_core[index]):
                self._exact.setdefault(key, []).append((index, score))
                per_province[commune.province_code].setdefault(key, []).append((index, score))
        self._keys = _Keys(self._exact)
        self._keys_in = {code: _Keys(owners) for code, owners in per_province.items()}
        self._aliases = self._province_aliases()
        self._alias_keys = sorted(self._aliases)
        self._former_names = {name for names in _FORMER_PROVINCES.values() for name in names}
        self._index_of = {c.code: i for i, c in enumerate(self._communes)}
        self._old = old if old is not None else OldUnits.load(
            {c.code: c.province_code for c in self._communes})

    @staticmethod
    def _names(commune: Commune, folded_core: str) -> Iterable[tuple[str, float]]:
        yield folded_core, 100.0
        core = _core(commune)
        joined = fold(_APOSTROPHES.sub("", core))  # "Ea M'Droh" is typed "ea mdroh" as often
        if joined != folded_core:
            yield joined, 100.0
        parts = _NAME_PARTS.split(core)
        if len(parts) > 1:
            for part in parts:
                yield fold(part), _PART_SCORE

    def _province_aliases(self) -> dict[str, frozenset[str]]:
        aliases: dict[str, set[str]] = {}
        for province in self._provinces:
            full = fold(province.name)
            short = full.removeprefix("thanh pho ")
            names = {full, short, short.replace(" ", ""),
                     *_SHORT_FORMS.get(province.code, ()),
                     *_FORMER_PROVINCES.get(province.code, ())}
            for name in names:
                aliases.setdefault(name, set()).add(province.code)
        return {name: frozenset(codes) for name, codes in aliases.items()}

    # Lookups

    def get(self, code: str) -> Commune | None:
        code = code.strip()
        return self._by_code.get(code.zfill(5) if code.isdigit() else code)

    def provinces(self) -> list[Province]:
        return list(self._provinces)

    def communes_in(self, province_code: str) -> list[Commune]:
        """A province's communes in folded alphabetical order, as a picker lists them."""
        found = [(core, c) for c, core in zip(self._communes, self._folded_core, strict=True)
                 if c.province_code == province_code]
        return [c for _core_name, c in sorted(found, key=lambda pair: (pair[0], pair[1].name))]

    def provinces_named(self, text: str) -> list[Province]:
        """The provinces ``text`` names and nothing else ("hcm", "TP HCM", "ho chi minh",
        "Bình Dương"); two for "dn" (Đà Nẵng, Đồng Nai), none when it says more."""
        codes = self._aliases.get(self._province_query(text), frozenset())
        return [self._province_by_code[code] for code in sorted(codes)]

    @staticmethod
    def _province_query(text: str) -> str:
        words = fold(text[:MAX_QUERY_CHARS]).split()
        for size in (2, 1):
            if " ".join(words[:size]) in _PROVINCE_PREFIXES:
                return " ".join(words[size:])
        return " ".join(words)

    def search_provinces(self, text: str, limit: int = 5) -> list[Province]:
        """Provinces by full, short or former name; prefixes while typing; then small typos."""
        query = self._province_query(text)
        if not query:
            return []
        ranked: list[str] = sorted(self._aliases.get(query, ()))
        position = bisect.bisect_left(self._alias_keys, query)
        for alias in self._alias_keys[position:]:
            if not alias.startswith(query):
                break
            ranked.extend(sorted(self._aliases[alias]))
        for alias, _score, _position in process.extract(
                query, self._alias_keys, scorer=fuzz.ratio, processor=None,
                score_cutoff=_FUZZY_CUTOFF, limit=limit):
            ranked.extend(sorted(self._aliases[alias]))
        return [self._province_by_code[code] for code in dict.fromkeys(ranked)][:limit]

    # Search

    def search(self, text: str, limit: int = 5,
               province_code: str | None = None) -> list[Candidate]:
        """Communes best first, scored 0..100; ``province_code`` restricts to one province."""
        if not text or len(text) > MAX_QUERY_CHARS or limit <= 0:
            return []
        query = self._parse(text)
        if (not query.tokens or len(query.tokens) > _MAX_QUERY_TOKENS
                or all(token.isdigit() for token in query.tokens)):
            return []  # a number alone is a house or a hamlet, not a commune
        reading = self._read_old(query)
        query = replace(query, districts=reading.district_at)
        best: dict[int, float] = {}
        for window in self._windows(query):
            key = " ".join(query.tokens[window.start:window.end])
            for index, score in self._exact.get(key, ()):
                self._offer(best, window, index, score, province_code)
        keys = self._keys if province_code is None else self._keys_in.get(province_code)
        if keys is None:
            return []
        for text_part, windows, at_end in self._fuzzy_strings(query):
            matches = list(keys.fuzzy(text_part))
            if at_end and (len(text_part) >= 3 or text_part[0].isdigit()):
                matches.extend(keys.prefixed(text_part))
            for window in windows:
                for index, score in matches:
                    self._offer(best, window, index, score, province_code, exact=False)
        return self._ranked(best, self._offer_old(best, reading, province_code), query, limit)

    def _read_old(self, query: _Query) -> OldReading:
        # The province is said last; one in the middle ("phường Nguyễn Thái Bình, quận 1") is
        # part of an old name.
        last: list[_Span] = []
        for span in reversed(query.spans):
            if span.end != (last[-1].start if last else len(query.tokens)):
                break
            last.append(span)
        named = frozenset(code for span in last for code in span.provinces)
        skip = frozenset(i for span in last for i in range(span.start, span.end))
        return self._old.match(query.tokens, named or None, skip)

    def _offer_old(self, best: dict[int, float], reading: OldReading,
                   province_code: str | None) -> dict[int, str]:
        """Adds what the query says the pre-2025 way; returns the old name of each commune
        that the old reading ranks higher than the current one."""
        if reading.within is not None:
            for index in best:
                if self._communes[index].code not in reading.within:
                    best[index] -= _OTHER_PROVINCE_PENALTY
        old: dict[int, str] = {}
        for match in sorted(reading.matches, key=lambda m: -m.score):
            for code in match.codes:
                index = self._index_of[code]
                if province_code is not None and self._communes[index].province_code \
                        != province_code:
                    continue
                if match.score > best.get(index, -1.0) + _TIE:
                    best[index] = match.score
                    old[index] = match.old
        return old

    def is_ambiguous(self, candidates: Sequence[Candidate]) -> bool:
        """True when the best candidates are one name in several provinces, equally likely.

        Equal scores mean the query named no province (a named one would have set them apart),
        so the conversation should ask which province.
        """
        if len(candidates) < 2:
            return False
        top = candidates[0]
        core = self._core_by_code.get(top.commune.code)
        return any(
            abs(other.score - top.score) <= _TIE
            and other.commune.province_code != top.commune.province_code
            and self._core_by_code.get(other.commune.code) == core
            for other in candidates[1:])

    def _parse(self, text: str) -> _Query:
        tokens = _search_tokens(text)
        spans = self._provinces_in(tokens)
        in_span = {i for span in spans for i in range(span.start, span.end)}
        markers: dict[int, str | None] = {}
        former: set[int] = set()
        position = 0
        while position < len(tokens):
            pair = " ".join(tokens[position:position + 2])
            if position in in_span:
                position += 1
            elif (tokens[position] in _FORMER_DISTRICT and position + 1 < len(tokens)
                    and tokens[position + 1].isdigit()):
                former.update((position, position + 1))
                position += 2
            elif pair in _MARKERS and position + 1 not in in_span:
                markers[position] = markers[position + 1] = _MARKERS[pair]
                position += 2
            else:
                if tokens[position] in _MARKERS:
                    markers[position] = _MARKERS[tokens[position]]
                position += 1
        accented = _accented(text)
        return _Query(tokens, " " + " ".join(tokens) + " ", markers, spans, frozenset(former),
                      None if accented.isascii() else accented)

    def _provinces_in(self, tokens: list[str]) -> list[_Span]:
        """Province mentions, read from the end: people name the province last, and reading
        backwards keeps "Hồng Quang, Ninh Bình" from being taken for "Quảng Ninh"."""
        spans: list[_Span] = []
        end = len(tokens)
        while end > 0:
            span = self._province_ending(tokens, end)
            if span is None:
                end -= 1
            else:
                spans.append(span)
                end = span.start
        return spans[::-1]

    def _province_ending(self, tokens: list[str], end: int) -> _Span | None:
        for length in range(min(_MAX_ALIAS_TOKENS, end), 0, -1):
            position = end - length
            codes = self._aliases.get(" ".join(tokens[position:end]))
            if codes is None:
                continue
            start = position
            # "tỉnh", "tp", "thành phố" before the name belong to the mention, not to the commune.
            if start >= 2 and " ".join(tokens[start - 2:start]) in _PROVINCE_PREFIXES:
                start -= 2
            elif start >= 1 and tokens[start - 1] in _PROVINCE_PREFIXES:
                start -= 1
            return _Span(start, end, codes, start < position,
                         " ".join(tokens[position:end]) in self._former_names)
        return None

    def _window(self, query: _Query, start: int, end: int) -> _Window | None:
        outside = [s for s in query.spans if s.end <= start or s.start >= end]
        explained = set(range(start, end)) | set(query.markers) | query.former
        for span in outside:
            explained.update(range(span.start, span.end))
        unexplained = [i for i in range(len(query.tokens)) if i not in explained]
        # A word right next to the name is more likely part of it than a street or a hamlet.
        adjacent = sum(1 for i in unexplained if i in (start - 1, end))
        penalty = min(_MAX_NOISE_PENALTY, _NOISE_PENALTY * (len(unexplained) - adjacent)
                      + _ADJACENT_NOISE_PENALTY * adjacent)
        around = [s for s in query.spans if s.start <= start and end <= s.end]
        crossed = [s for s in query.spans
                   if s.start < end and start < s.end and s not in around]
        # Today's province names are never part of a commune's: "ho chi minh" is not "Xã Chí
        # Minh", and a province said alone is the province. A former province's name is also
        # its old capital's ward ("Vũng Tàu", "Hà Giang 1").
        if any(not s.former for s in crossed) or (
                any(not s.former for s in around) and start - 1 not in query.markers
                and not outside):
            return None
        if any(start <= i < end for i in query.districts):
            penalty += _PROVINCE_AS_NAME_PENALTY  # "huyện Đan Phượng" is not "Xã Đan Phượng"
        if any(s.prefixed for s in around):
            penalty += _PROVINCE_AS_NAME_PENALTY
        elif around and unexplained:
            # "xã Liên Mnih, Phú Thọ": the typo is the commune, "Phú Thọ" the province.
            penalty += _PROVINCE_AS_NAME_PENALTY / 2
        elif crossed:
            # Half a province is no commune: "Giao Long, Vĩnh Long" is not "Long Vĩnh".
            penalty += _PROVINCE_AS_NAME_PENALTY / 2
        before = [i for i in query.markers if i < start]
        return _Window(
            start, end, penalty,
            frozenset(code for s in outside for code in s.provinces) if outside else None,
            query.markers[max(before)] if before else None)

    def _windows(self, query: _Query) -> Iterable[_Window]:
        count = len(query.tokens)
        for start in range(count):
            for end in range(start + 1, min(start + _MAX_NAME_TOKENS, count) + 1):
                if " ".join(query.tokens[start:end]) in self._exact:
                    window = self._window(query, start, end)
                    if window is not None:
                        yield window

    def _fuzzy_strings(self, query: _Query) -> list[tuple[str, list[_Window], bool]]:
        """Strings worth a fuzzy scan: words after a kind word, a province, a former district or
        the start, most telling first. The last words before the end or a province may be a name
        still being typed.
        """
        tokens = query.tokens
        span_starts = {s.start for s in query.spans}
        starts = [*sorted(i + 1 for i in query.markers), *sorted(i + 1 for i in query.former),
                  *sorted(s.end for s in query.spans), 0]
        found: dict[str, tuple[list[_Window], bool]] = {}
        for start in dict.fromkeys(starts):
            # A kind word right after another is a name: "xã Phượng Dực", "phường Phương Liệt".
            if (start >= len(tokens) or start in query.former
                    or (start in query.markers and start - 1 not in query.markers)):
                continue
            end = start
            while (end < len(tokens) and end - start < _MAX_NAME_TOKENS
                   and end not in query.former):
                end += 1
                text = " ".join(tokens[start:end])
                windows, at_end = found.setdefault(text, ([], False))
                window = self._window(query, start, end)
                if window is not None and len(windows) < _MAX_WINDOWS_PER_STRING:
                    windows.append(window)
                found[text] = (windows, at_end or end == len(tokens) or end in span_starts
                               or end in query.former)
                if len(found) >= _MAX_FUZZY_STRINGS:
                    return [(t, w, e) for t, (w, e) in found.items()]
        return [(t, w, e) for t, (w, e) in found.items()]

    def _offer(self, best: dict[int, float], window: _Window, index: int, score: float,
               province_code: str | None, exact: bool = True) -> None:
        commune = self._communes[index]
        if province_code is not None and commune.province_code != province_code:
            return
        # A name half right among words that are no name at all is most likely no name either.
        score -= window.penalty if exact else _FUZZY_NOISE_FACTOR * window.penalty
        if window.provinces is not None and commune.province_code not in window.provinces:
            score -= _OTHER_PROVINCE_PENALTY
        if window.kind is not None and window.kind != commune.kind:
            score -= _OTHER_KIND_PENALTY
        if score > best.get(index, -1.0):
            best[index] = score

    def _ranked(self, best: dict[int, float], old: dict[int, str], query: _Query,
                limit: int) -> list[Candidate]:
        if query.accented is not None:
            # With diacritics typed, "Thạnh An" and "Thanh An" are no longer the same name.
            for index in best:
                if (f" {self._folded_core[index]} " in query.padded
                        and self._accented_core[index] not in query.accented):
                    best[index] -= _ACCENT_PENALTY
        floor = max(_MIN_SCORE, max(best.values(), default=0.0) - _RELATIVE_MARGIN)
        order = sorted(
            (index for index, score in best.items() if score >= floor),
            key=lambda i: (-best[i], self._communes[i].province_code, self._communes[i].code))
        return [Candidate(self._communes[i], round(min(100.0, best[i]), 2), old.get(i))
                for i in order[:limit]]
