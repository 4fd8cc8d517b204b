"""Provinces and communes as loaded from ``vietnam-provinces``, and the normalisation that turns
what people type into search tokens (markers such as "xã" or "p.", province short forms,
tones, glued numbers)."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass

from rapidfuzz.distance import OSA
from vietnam_provinces import NESTED_DIVISIONS_JSON_PATH

from bot.text import fold

_KINDS = {"xã": "xa", "phường": "phuong", "đặc khu": "dac_khu"}

# Words people put before a commune name; None: a former kind ("thị trấn") that says nothing now.
_MARKERS: dict[str, str | None] = {
    "xa": "xa", "x": "xa", "phuong": "phuong", "p": "phuong", "ph": "phuong", "f": "phuong",
    "dk": "dac_khu", "dac khu": "dac_khu", "thi tran": None, "tt": None,
    "thi xa": None, "tx": None, "thanh pho": None,
    "phuog": "phuong", "phuon": "phuong", "phuogn": "phuong", "phuongg": "phuong",
}
_GLUED_MARKER = re.compile(r"^(p|f|x|ph|q|quan)0*(\d+)$")  # "p1", "q1"; "p.01" folds to "p 01"

# Short forms people use for provinces; "dn" is said for both Đà Nẵng and Đồng Nai.
_SHORT_FORMS: dict[str, tuple[str, ...]] = {
    "01": ("hn", "tphn"),
    "79": ("hcm", "tphcm", "hcmc", "tp hcm", "sai gon", "saigon", "sg", "tpsg"),
    "48": ("dn", "tpdn"),
    "75": ("dn",),
    "31": ("hp", "tphp"),
    "92": ("tpct",),
    "46": ("tt hue", "thua thien hue", "tth"),
    "66": ("dac lac", "daclac"),
}

# Provinces merged into another on 1 Jul 2025; people keep using the old names. Each mapping agrees
# with the data: the ward named after the old provincial capital lies in the province given here.
_FORMER_PROVINCES: dict[str, tuple[str, ...]] = {
    "08": ("ha giang",),
    "15": ("yen bai",),
    "19": ("bac kan", "bac can"),
    "24": ("bac giang",),
    "25": ("vinh phuc", "hoa binh"),
    "31": ("hai duong",),
    "33": ("thai binh",),
    "37": ("ha nam", "nam dinh"),
    "44": ("quang binh",),
    "48": ("quang nam",),
    "51": ("kon tum",),
    "52": ("binh dinh",),
    "56": ("ninh thuan",),
    "66": ("phu yen",),
    "68": ("dak nong", "binh thuan"),
    "75": ("binh phuoc",),
    "79": ("binh duong", "ba ria vung tau", "brvt", "vung tau"),
    "80": ("long an",),
    "82": ("tien giang",),
    "86": ("ben tre", "tra vinh"),
    "91": ("kien giang",),
    "92": ("soc trang", "hau giang"),
    "96": ("bac lieu",),
}


_TONES = frozenset("\u0300\u0301\u0303\u0309\u0323")
_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class Province:
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class Commune:
    code: str
    name: str
    kind: str
    province_code: str
    province_name: str


@dataclass(frozen=True, slots=True)
class Candidate:
    commune: Commune
    score: float
    old: str | None = None  # the pre-2025 unit the query named, when that is what matched


def load_communes() -> tuple[list[Province], list[Commune]]:
    """The 34 provinces and 3,321 communes of the ``vietnam-provinces`` package, in its order."""
    data = json.loads(NESTED_DIVISIONS_JSON_PATH.read_text(encoding="utf-8"))
    provinces: list[Province] = []
    communes: list[Commune] = []
    for entry in data:
        province = Province(f"{entry['code']:02d}", _clean(entry["name"]))
        provinces.append(province)
        communes.extend(
            Commune(f"{ward['code']:05d}", _clean(ward["name"]), _KINDS[ward["division_type"]],
                    province.code, province.name)
            for ward in entry["wards"])
    return provinces, communes


def _clean(name: str) -> str:
    # The data has the odd doubled space ("Phường  Tân An").
    return " ".join(unicodedata.normalize("NFC", name).split())


def _core(commune: Commune) -> str:
    """The name without its kind: "Xã Phượng Dực" -> "Phượng Dực"."""
    words = commune.name.split()
    return " ".join(words[2:] if commune.kind == "dac_khu" else words[1:])


def _tone_key(word: str) -> str:
    # "hoà" and "hòa" are the same word: compare letters, then the tone, wherever it was placed.
    decomposed = unicodedata.normalize("NFD", word)
    tone = "".join(ch for ch in decomposed if ch in _TONES)
    base = "".join(ch for ch in decomposed if ch not in _TONES)
    return unicodedata.normalize("NFC", base) + tone


def _accented(text: str) -> str:
    words = _WORD.findall(unicodedata.normalize("NFC", text.lower()))
    return " " + " ".join(_tone_key(word) for word in words) + " "


def _search_tokens(text: str) -> list[str]:
    out: list[str] = []
    for token in fold(text).split():
        glued = _GLUED_MARKER.match(token)
        if glued:
            out.extend((glued.group(1), glued.group(2)))
        elif token.isdigit():
            out.append(str(int(token)))
        else:
            out.append(token)
    return out


def _typo(text: str, name: str) -> bool:
    """Whether ``text`` is ``name`` mistyped: one word off by an edit or a swap (two in a long
    word), or a space missing or added. Two words wrong is another name: "khong ton" is not
    "Hồng Sơn"."""
    words, names = text.split(), name.split()
    if len(words) != len(names):
        return OSA.distance(text.replace(" ", ""), name.replace(" ", "")) <= 1
    wrong = [(word, part) for word, part in zip(words, names, strict=True) if word != part]
    if len(wrong) > 1:
        return False
    if not wrong:
        return True
    word, part = wrong[0]
    return OSA.distance(word, part) <= (1 if min(len(word), len(part)) <= 4 else 2)
