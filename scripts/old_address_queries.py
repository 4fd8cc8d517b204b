"""Write ``bench/data/communes_old.toml``: pre-2025 addresses as people write them, drawn from the
official conversion in ``bot/geo/old_units_2025.tsv``, for ``bench/communes.py``.

Seeded, so a rerun writes the same file: ``python scripts/old_address_queries.py``. Four kinds, in
equal shares: old commune, district and province in full; the same folded and abbreviated
("p ben nghe q1 ho chi minh"); old district alone with its kind word (and its province when
several had that name); old commune and district
with one typo (two letters swapped or one dropped) in the commune's name. The expected communes
are every commune the old unit went to: a split commune or a district is right when all of them
are offered and the first is one of them.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.text import fold  # noqa: E402

SOURCE = ROOT / "bot" / "geo" / "old_units_2025.tsv"
OUTPUT = ROOT / "bench" / "data" / "communes_old.toml"
PER_KIND = 45
_SHORT = {"phường": "p", "xã": "x", "thị trấn": "tt", "quận": "q", "huyện": "h",
          "thị xã": "tx", "thành phố": "tp"}


def _kind(name: str) -> tuple[str, str]:
    for kind in ("Thị trấn ", "Thị xã ", "Thành phố ", "Phường ", "Xã ", "Quận ", "Huyện "):
        if name.startswith(kind):
            return kind.strip().lower(), name[len(kind):]
    return "", name


def _short(name: str) -> str:
    kind, core = _kind(name)
    short = _SHORT.get(kind, "")
    folded = fold(core)
    return f"{short}{folded}" if folded.isdigit() else f"{short} {folded}".strip()


def _typo(word: str, rng: random.Random) -> str:
    at = rng.randrange(1, len(word) - 1)
    if rng.random() < 0.5:
        return word[:at] + word[at + 1] + word[at] + word[at + 2:]
    return word[:at] + word[at + 1:]


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main() -> int:
    provinces: dict[str, str] = {}
    districts: dict[str, tuple[str, str]] = {}
    wards: list[tuple[str, str, list[str]]] = []
    for line in SOURCE.read_text(encoding="utf-8").splitlines():
        fields = line.split("\t")
        if fields[0] == "P":
            provinces[fields[1]] = fields[2].removeprefix("Tỉnh ").removeprefix("Thành phố ")
        elif fields[0] == "D":
            districts[fields[1]] = (fields[2], fields[3])
        elif fields[0] == "W":
            wards.append((fields[2], fields[3], fields[4].split(",")))
    rng = random.Random(2025)  # noqa: S311 - a reproducible sample, not a secret
    by_district: dict[str, dict[str, None]] = {}
    for _name, district, codes in wards:
        by_district.setdefault(district, {}).update(dict.fromkeys(codes))
    cases: list[tuple[str, str, list[str]]] = []
    for name, district, codes in rng.sample(wards, PER_KIND):
        place, province = districts[district]
        cases.append(("full", f"{name}, {place}, {provinces[province]}", codes))
    for name, district, codes in rng.sample(wards, PER_KIND):
        place, province = districts[district]
        cases.append(("folded", f"{_short(name)} {_short(place)} {fold(provinces[province])}",
                      codes))
    # A district name that several provinces had ("Huyện Châu Thành") is said with its province.
    same_name: dict[str, int] = {}
    for place, _province in districts.values():
        same_name[fold(_kind(place)[1])] = same_name.get(fold(_kind(place)[1]), 0) + 1
    for district in rng.sample(sorted(by_district), PER_KIND):
        place, province = districts[district]
        text = place if rng.random() < 0.5 else fold(place)
        if same_name[fold(_kind(place)[1])] > 1 or rng.random() < 0.5:
            text += f", {provinces[province]}"
        cases.append(("district", text, list(by_district[district])))
    typos = [w for w in wards if max(len(part) for part in fold(_kind(w[0])[1]).split()) >= 5]
    for name, district, codes in rng.sample(typos, PER_KIND):
        place, province = districts[district]
        kind, core = _kind(name)
        words = fold(core).split()
        longest = max(range(len(words)), key=lambda i: len(words[i]))
        words[longest] = _typo(words[longest], rng)
        cases.append(("typo", f"{kind} {' '.join(words)} {fold(place)}", codes))
    out = ["# Pre-2025 addresses written from the official conversion (bot/geo/old_units_2025.tsv)",
           "# by scripts/old_address_queries.py; do not edit, rerun it. expect_any: every commune",
           "# the old unit went to; kind: full, folded, district or typo.", ""]
    for kind, text, codes in cases:
        out += ["[[query]]", f"text = {_quote(text)}", f'kind = "{kind}"',
                "expect_any = [" + ", ".join(f'"{c}"' for c in codes) + "]", ""]
    OUTPUT.write_text("\n".join(out), encoding="utf-8")
    print(f"{OUTPUT}: {len(cases)} queries")
    return 0


if __name__ == "__main__":
    sys.exit(main())
