"""FAQ benchmark: accuracy on the evaluation questions, start-up, latency.

Run from the repository root: ``python -m bench.faq`` (``--quick`` for a smoke run). It measures
the real knowledge base, then the same knowledge base grown twenty times with synthetic entries
(words of the real entries recombined at random), against the same evaluation questions.
Questions in ``bench/data/faq_blind/*.toml``, when that folder exists, were written without
sight of the knowledge base and are never tuned on: each file is reported on lines of its own.
``--calibrate`` prints what other thresholds would give on the tuning questions, the table
``bot.knowledge.THRESHOLDS`` is chosen from.

A question's ``expect`` is an entry id, ``none`` (or empty: out of scope, the fallback is
right), ``smalltalk``, or ``crisis-suicide`` / ``crisis-overdose`` / ``crisis-danger`` (the
safety message for that situation must come first).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import functools
import os
import random
import statistics
import sys
import time
import tomllib
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as ``python bench/faq.py``
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.knowledge import LANGUAGES, THRESHOLDS, Answer, Entry, KnowledgeBase, Thresholds, Topic
from bot.knowledge._decide import decide
from bot.knowledge._semantic import Meaning, phrasing_texts
from bot.knowledge.vectors import VectorCache, text_key
from bot.text import clean_user_text

DATA = Path(__file__).resolve().parent / "data"
EVAL_DIR = DATA / "faq_eval"
BLIND_DIR = DATA / "faq_blind"
# Crisis messages by situation and ordinary messages that must not trigger a safety message.
CRISIS_FILE = EVAL_DIR / "crisis.toml"
# The file of questions written after the retrieval and the knowledge base were tuned, by
# someone who saw neither the phrasings nor the other questions.
HELD_OUT = "heldout"
SCALE = 20
SYNTHETIC_TOPIC = "synthetic"
OUT_OF_SCOPE = ("", "none")


@dataclass(frozen=True, slots=True)
class Query:
    text: str
    lang: str
    expect: str
    kind: str
    held_out: bool = False

    @property
    def in_scope(self) -> bool:
        return self.expect not in OUT_OF_SCOPE and self.expect != "smalltalk" \
            and not self.expect.startswith("crisis-")


def load_queries(directory: Path = EVAL_DIR) -> list[Query]:
    return [q for path in sorted(directory.glob("*.toml")) for q in load_file(path)]


def load_file(path: Path) -> list[Query]:
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    return [Query(q["text"], q["lang"], q["expect"], q["kind"], path.stem == HELD_OUT)
            for q in data.get("query", [])]


@dataclass(frozen=True, slots=True)
class CrisisCase:
    """A message of the crisis list: ``situation`` is the safety message it must get first,
    None for an ordinary message that must get none."""

    text: str
    lang: str
    situation: str | None
    kind: str


def load_crisis(path: Path = CRISIS_FILE) -> list[CrisisCase]:
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    return [CrisisCase(text, group["lang"], group.get("situation"), group["kind"])
            for table in ("crisis", "ordinary") for group in data.get(table, [])
            for text in group["texts"]]


def crisis_report(kb: KnowledgeBase, cases: Sequence[CrisisCase]) -> None:
    """Crisis messages given the fitting safety message, by situation and kind, and ordinary
    messages given one (false crisis)."""
    print(f"-- crisis list ({CRISIS_FILE.relative_to(DATA.parent.parent)}): fitting safety "
          f"message first")
    groups: defaultdict[str, list[bool]] = defaultdict(list)
    for case in cases:
        got = kb.answer(case.text).crisis
        if case.situation is None:
            groups[f"ordinary, {case.kind}: false crisis"].append(got is not None)
        else:
            groups[f"{case.situation}, {case.kind}"].append(got == case.situation)
            groups[f"{case.situation}, all"].append(got == case.situation)
    for label in sorted(groups):
        hits = groups[label]
        print(f"  {label:<34} {sum(hits):4d}/{len(hits):<4d} {sum(hits) / len(hits):6.1%}")


def synthetic_kb(kb: KnowledgeBase, scale: int, seed: int = 20260701) -> KnowledgeBase:
    """``kb`` plus (scale - 1) times as many entries made of its own words shuffled.

    Words are drawn with their real frequency, so term statistics look like the real ones, but
    never in the order of a real question: the synthetic entries compete for every word without
    answering anything. Their phrasing vectors are random (embedding tens of thousands of
    phrasings would take an hour), which is what matters for speed: as many rows to compare.
    """
    rng = random.Random(seed)
    count = len(kb.entries("vi")) * (scale - 1)
    entries: list[Entry] = []
    topics: list[Topic] = []
    for lang in LANGUAGES:
        real = kb.entries(lang)
        question_words = [w for e in real for q in e.questions for w in q.split()]
        keyword_words = [w for e in real for k in e.keywords for w in k.split()]
        answer_words = [w for e in real for w in e.answer.split()]
        question_lengths = [len(q.split()) for e in real for q in e.questions]
        answer_lengths = [len(e.answer.split()) for e in real]
        known = {q for e in real for q in e.questions}
        ids = []
        for number in range(count):
            questions: list[str] = []
            while len(questions) < (4 if lang == "vi" else 3):
                question = " ".join(rng.choices(question_words, k=rng.choice(question_lengths)))
                if question not in known:
                    questions.append(question)
            keywords = tuple(" ".join(rng.choices(keyword_words, k=rng.randint(1, 3)))
                             for _ in range(rng.randint(3, 7)))
            answer = " ".join(rng.choices(answer_words, k=rng.choice(answer_lengths)))[:900]
            entry_id = f"{SYNTHETIC_TOPIC}-{number}"
            ids.append(entry_id)
            entries.append(Entry(entry_id, SYNTHETIC_TOPIC, lang, tuple(questions), keywords,
                                 answer, ("synthetic",), date(2026, 1, 1)))
        topics.append(Topic(SYNTHETIC_TOPIC, lang, SYNTHETIC_TOPIC, tuple(ids)))
    all_topics = [*(t for lang in LANGUAGES for t in kb.topics(lang)), *topics]
    all_entries = [*(e for lang in LANGUAGES for e in kb.entries(lang)), *entries]
    vectors = VectorCache(_random_vectors(kb, entries, rng))
    return KnowledgeBase(all_topics, all_entries, vectors)


def _random_vectors(kb: KnowledgeBase, entries: Sequence[Entry],
                    rng: random.Random) -> dict[int, np.ndarray]:
    real = kb.embedded_texts()
    known = dict(zip(map(text_key, real), kb.vectors.vectors(real), strict=True))
    generator = np.random.default_rng(rng.randrange(2**32))
    for entry in entries:
        for text in phrasing_texts(entry.questions, entry.lang):
            vector = generator.standard_normal(384).astype(np.float32)
            known.setdefault(text_key(text), vector / np.linalg.norm(vector))
    return known


def build_times(kb: KnowledgeBase, repeats: int) -> list[float]:
    topics = [t for lang in LANGUAGES for t in kb.topics(lang)]
    entries = [e for lang in LANGUAGES for e in kb.entries(lang)]
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        KnowledgeBase(topics, entries, kb.vectors)
        times.append(time.perf_counter() - start)
    return times


def _percentile(values: Sequence[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _first_shown(answer: Answer) -> str | None:
    if answer.entry is not None:
        return answer.entry.id
    return answer.suggestions[0].id if answer.suggestions else None


def judge(query: Query, answer: Answer) -> bool:
    """Whether ``answer`` is right for ``query``."""
    if query.expect.startswith("crisis-"):
        return answer.crisis == query.expect.removeprefix("crisis-")
    if query.in_scope:  # an emergency question may bring the safety message too
        return _first_shown(answer) == query.expect
    if answer.crisis is not None:
        return False
    if query.expect == "smalltalk":
        return answer.kind == "smalltalk"
    return answer.kind == "fallback"


def _wrong_sure(query: Query, answer: Answer) -> bool:
    return query.in_scope and answer.entry is not None and answer.entry.id != query.expect


@dataclass(frozen=True, slots=True)
class Figures:
    right: int
    total: int
    wrong_sure: int
    in_scope: int

    def share(self) -> float:
        return self.right / self.total if self.total else float("nan")


def figures(pairs: Sequence[tuple[Query, Answer]]) -> Figures:
    return Figures(sum(judge(q, a) for q, a in pairs), len(pairs),
                   sum(_wrong_sure(q, a) for q, a in pairs), sum(q.in_scope for q, _ in pairs))


def _group(query: Query) -> str:
    if query.expect.startswith("crisis-"):
        return "crisis (fitting safety message)"
    if query.expect == "smalltalk":
        return "small talk handled as such"
    return "top-1 (in scope)" if query.in_scope else "out-of-scope fallback"


def _line(label: str, found: Figures) -> str:
    return f"  {label:<34} {found.right:4d}/{found.total:<4d} {found.share():6.1%}"


def summary(title: str, pairs: Sequence[tuple[Query, Answer]]) -> None:
    """The figures of ``pairs`` on their own: by what is expected, then by kind."""
    found = figures(pairs)
    in_scope = [(q, a) for q, a in pairs if q.in_scope]
    ordinary = [(q, a) for q, a in pairs if not q.expect.startswith("crisis-")]
    false_crisis = sum(a.crisis is not None for _, a in ordinary)
    print(f"-- {title}: {found.total} questions, right {found.share():.1%}; wrong sure answers "
          f"{found.wrong_sure / max(found.in_scope, 1):.1%} of {found.in_scope} in scope; "
          f"false crisis {false_crisis}/{len(ordinary)}")
    groups: defaultdict[str, list[tuple[Query, Answer]]] = defaultdict(list)
    kinds: defaultdict[str, list[tuple[Query, Answer]]] = defaultdict(list)
    for q, a in pairs:
        groups[_group(q)].append((q, a))
        kinds[q.kind].append((q, a))
    for label in sorted(groups):
        print(_line(label, figures(groups[label])))
    if in_scope:
        top3 = sum(q.expect in {e.id for e in ((a.entry,) if a.entry else ()) + a.suggestions}
                   for q, a in in_scope)
        print(f"  {'top-3 (in scope)':<34} {top3:4d}/{len(in_scope):<4d} "
              f"{top3 / len(in_scope):6.1%}")
    for kind in sorted(kinds):
        kind_found = figures(kinds[kind])
        print(_line(f"kind {kind}", kind_found) + f"   wrong sure {kind_found.wrong_sure}")


def latencies(kb: KnowledgeBase, queries: Sequence[Query], rounds: int
              ) -> dict[str, list[float]]:
    found: dict[str, list[float]] = {"all": [], "lexical alone": [], "with embedding": []}
    for _ in range(rounds):
        for q in queries:
            start = time.perf_counter()
            answer = kb.answer(q.text)
            elapsed = time.perf_counter() - start
            found["all"].append(elapsed)
            found["with embedding" if answer.embedded else "lexical alone"].append(elapsed)
    return found


async def _asked(kb: KnowledgeBase, queries: Sequence[Query]) -> tuple[list[float], float]:
    """Seconds per question through :meth:`KnowledgeBase.ask` (the worker thread), one at a
    time, and the longest the event loop went without a turn meanwhile."""
    times: list[float] = []
    longest = 0.0
    done = False

    async def other_chats() -> None:
        nonlocal longest
        last = time.perf_counter()
        while not done:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            longest, last = max(longest, now - last - 0.001), now

    ticker = asyncio.create_task(other_chats())
    for q in queries:
        start = time.perf_counter()
        await kb.ask(q.text)
        times.append(time.perf_counter() - start)
    done = True
    await ticker
    return times, longest


def report(title: str, kb: KnowledgeBase, queries: list[Query], repeats: int,
           rounds: int) -> None:
    builds = build_times(kb, repeats)
    pairs = [(q, kb.answer(q.text)) for q in queries]
    in_scope = [(q, a) for q, a in pairs if q.in_scope]
    out_scope = [(q, a) for q, a in pairs if not q.in_scope and q.expect in OUT_OF_SCOPE]
    english = [(q, a) for q, a in pairs if q.lang == "en"]
    top1 = figures(in_scope)
    print(f"== {title}: {len(kb.entries('vi'))} entries per language ==")
    print(f"index build          {statistics.median(builds) * 1000:8.1f} ms "
          f"(median of {repeats})")
    print(f"top-1 accuracy       {top1.share():8.1%}  ({top1.total} in-scope questions; the "
          f"first entry shown, answered or offered)")
    print(f"wrong sure answers   {top1.wrong_sure / max(top1.total, 1):8.1%}  (one answer, "
          f"another entry)")
    print(f"out-of-scope fallback{figures(out_scope).share():8.1%}  ({len(out_scope)} "
          f"questions)")
    in_english = sum(a.lang == "en" for _, a in english) / max(len(english), 1)
    print(f"English in English   {in_english:8.1%}")
    for label, values in latencies(kb, queries, rounds).items():
        print(f"latency p50 / p99 {label:<15} {_percentile(values, 0.5) * 1000:7.2f} / "
              f"{_percentile(values, 0.99) * 1000:7.2f} ms ({len(values)} answers)")
    asked, stall = asyncio.run(_asked(kb, queries))
    print(f"latency p50 / p99 through ask    {_percentile(asked, 0.5) * 1000:7.2f} / "
          f"{_percentile(asked, 0.99) * 1000:7.2f} ms ({len(asked)} answers on the worker "
          f"thread); event loop held at most {stall * 1000:.1f} ms meanwhile")
    summary("tuning questions (bench/data/faq_eval), by kind", pairs)
    held_out = [(q, a) for q, a in pairs if q.held_out]
    if held_out:
        summary("held-out questions only", held_out)


def _calibration_rows(kb: KnowledgeBase, queries: Sequence[Query]
                      ) -> list[tuple[Query, list[tuple[int, float]], bool, Meaning]]:
    from bot.knowledge import detect_language

    rows = []
    for q in (q for q in queries if q.in_scope or q.expect in OUT_OF_SCOPE):
        text = clean_user_text(q.text, 400)
        ranked, in_domain = kb.rank(text, detect_language(text))
        rows.append((q, ranked, in_domain, kb.meaning(text)))
    return rows


def _same(meaning: Meaning) -> Meaning:
    return meaning


def calibrate(kb: KnowledgeBase, queries: list[Query]) -> None:
    """Top-1, wrong sure answers and fallback for a grid of the embedding's thresholds (the
    question is embedded once, the decision replayed)."""
    ids = [e.id for e in kb.entries("vi")]
    rows = _calibration_rows(kb, queries)

    def score(t: Thresholds) -> tuple[float, float, float]:
        right = wrong = fallback = inside = 0
        for q, ranked, in_domain, meaning in rows:
            found = decide(ranked, in_domain, functools.partial(_same, meaning), t)
            first = ids[found.docs[0]] if found.docs and found.kind != "fallback" else None
            if q.in_scope:
                inside += 1
                right += first == q.expect
                wrong += found.kind == "answer" and first != q.expect
            else:
                fallback += found.kind == "fallback"
        outside = max(len(rows) - inside, 1)
        return right / inside, wrong / inside, fallback / outside

    print(f"{'veto':>5} {'promote':>7} {'p.margin':>8} {'unrelated':>9} {'top-1':>6} "
          f"{'wrong':>6} {'fallback':>8}   (current: {THRESHOLDS})")
    for veto in (0.01, 0.02, 0.03, 0.05):
        for promote in (0.90, 0.92, 0.94):
            for margin in (0.01, 0.02, 0.03, 0.04):
                for unrelated in (0.80, 0.85, 0.87):
                    t = dataclasses.replace(THRESHOLDS, veto_gap=veto, promote=promote,
                                            promote_margin=margin, unrelated=unrelated)
                    top1, wrong, fallback = score(t)
                    print(f"{veto:5.2f} {promote:7.2f} {margin:8.2f} {unrelated:9.2f} "
                          f"{top1:6.1%} {wrong:6.1%} {fallback:8.1%}")


def _timed(label: str, action: Callable[[], KnowledgeBase]) -> KnowledgeBase:
    start = time.perf_counter()
    kb = action()
    print(f"{label}: {(time.perf_counter() - start) * 1000:.1f} ms")
    return kb


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer repetitions, every fifth question (smoke run)")
    parser.add_argument("--calibrate", action="store_true",
                        help="accuracy under other thresholds instead of the benchmark")
    args = parser.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):  # the latency target is for one core
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    if args.calibrate:
        calibrate(KnowledgeBase.load(), load_queries())
        return 0
    repeats, rounds = (2, 1) if args.quick else (7, 5)
    sample = 5 if args.quick else 1  # a smoke run checks that every part runs, not the figures
    kb = _timed("start-up: load and check the knowledge base, vectors and model",
                KnowledgeBase.load)
    queries = load_queries()[::sample]
    report("real knowledge base", kb, queries, repeats, rounds)
    crisis_report(kb, load_crisis()[::sample])
    # Each blind file was written by someone else at another time: each is its own evidence.
    blind = sorted(BLIND_DIR.glob("*.toml")) if BLIND_DIR.is_dir() else []
    for path in blind:
        summary(f"blind set {path.name} (bench/data/faq_blind, never tuned on), by kind",
                [(q, kb.answer(q.text)) for q in load_file(path)[::sample]])
    if not blind:
        print("-- blind set: none (bench/data/faq_blind absent)")
    report(f"knowledge base x{SCALE} (synthetic entries)", synthetic_kb(kb, SCALE), queries,
           1 if args.quick else 2, 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
