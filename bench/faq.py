"""FAQ retrieval benchmark: accuracy on the held-out questions, index build time, latency.

Run from the repository root: ``python -m bench.faq`` (``--quick`` for a smoke run). It measures
the real knowledge base, then the same knowledge base grown twenty times with synthetic entries
(words of the real entries recombined at random), against the same evaluation questions.
``--calibrate`` prints what other confidence thresholds would give on the same questions, the
table ``bot.knowledge.THRESHOLDS`` is chosen from.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import tomllib
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

if __package__ in (None, ""):  # run as ``python bench/faq.py``
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.knowledge import LANGUAGES, THRESHOLDS, Answer, Entry, KnowledgeBase, Thresholds, Topic

EVAL_DIR = Path(__file__).resolve().parent / "data" / "faq_eval"
# The file of questions written after the retrieval and the knowledge base were last tuned, by
# someone who saw neither the phrasings nor the other questions: the figure to trust.
HELD_OUT = "heldout"
SCALE = 20
SYNTHETIC_TOPIC = "synthetic"


@dataclass(frozen=True, slots=True)
class Query:
    text: str
    lang: str
    expect: str
    kind: str
    held_out: bool


def load_queries(directory: Path = EVAL_DIR) -> list[Query]:
    queries: list[Query] = []
    for path in sorted(directory.glob("*.toml")):
        with path.open("rb") as handle:
            data = tomllib.load(handle)
        queries.extend(Query(q["text"], q["lang"], q["expect"], q["kind"],
                             path.stem == HELD_OUT)
                       for q in data.get("query", []))
    return queries


def synthetic_kb(kb: KnowledgeBase, scale: int, seed: int = 20260701) -> KnowledgeBase:
    """``kb`` plus (scale - 1) times as many entries made of its own words shuffled.

    Words are drawn with their real frequency, so term statistics look like the real ones, but
    never in the order of a real question: the synthetic entries compete for every word without
    answering anything.
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
    return KnowledgeBase([*(t for lang in LANGUAGES for t in kb.topics(lang)), *topics],
                         [*(e for lang in LANGUAGES for e in kb.entries(lang)), *entries])


def build_times(kb: KnowledgeBase, repeats: int) -> list[float]:
    topics = [t for lang in LANGUAGES for t in kb.topics(lang)]
    entries = [e for lang in LANGUAGES for e in kb.entries(lang)]
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        KnowledgeBase(topics, entries)
        times.append(time.perf_counter() - start)
    return times


def _answered(answer: Answer) -> list[str]:
    first = [answer.entry.id] if answer.entry is not None else []
    return (first + [e.id for e in answer.suggestions])[:3]


def _percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def accuracy(kb: KnowledgeBase, queries: list[Query],
             thresholds: Thresholds = THRESHOLDS) -> dict[str, float]:
    """Shares of the questions answered right, answered wrong, and (out of scope) let go."""
    in_scope = [q for q in queries if q.expect]
    out_scope = [q for q in queries if not q.expect]
    english = [q for q in queries if q.lang == "en"]
    answers = {q.text: kb.answer(q.text, thresholds=thresholds) for q in queries}
    sure = sum(1 for q in in_scope if (a := answers[q.text]).entry and a.entry.id == q.expect)
    wrong = sum(1 for q in in_scope if (a := answers[q.text]).entry and a.entry.id != q.expect)
    top1 = sum(1 for q in in_scope if _answered(answers[q.text])[:1] == [q.expect])
    top3 = sum(1 for q in in_scope if q.expect in _answered(answers[q.text]))
    fallback = sum(1 for q in out_scope
                   if answers[q.text].entry is None and not answers[q.text].suggestions)
    out_answered = sum(1 for q in out_scope if answers[q.text].entry is not None)
    in_english = sum(1 for q in english if answers[q.text].lang == "en")
    return {"top1": top1 / len(in_scope), "top3": top3 / len(in_scope),
            "sure": sure / len(in_scope), "wrong": wrong / len(in_scope),
            "fallback": fallback / max(len(out_scope), 1),
            "out_answered": out_answered / max(len(out_scope), 1),
            "english": in_english / max(len(english), 1)}


def measure(kb: KnowledgeBase, queries: list[Query], rounds: int) -> dict[str, float]:
    figures = accuracy(kb, queries)
    latencies = []
    for _ in range(rounds):
        for q in queries:
            start = time.perf_counter()
            kb.answer(q.text)
            latencies.append(time.perf_counter() - start)
    return {**figures, "p50": _percentile(latencies, 0.50), "p99": _percentile(latencies, 0.99)}


def by_kind(kb: KnowledgeBase, queries: list[Query]) -> dict[str, tuple[int, int]]:
    hits: defaultdict[str, int] = defaultdict(int)
    totals: Counter[str] = Counter(q.kind for q in queries)
    for q in queries:
        answer = kb.answer(q.text)
        if q.expect:
            hits[q.kind] += answer.entry is not None and answer.entry.id == q.expect
        else:
            hits[q.kind] += answer.entry is None and not answer.suggestions
    return {kind: (hits[kind], totals[kind]) for kind in sorted(totals)}


def report(title: str, kb: KnowledgeBase, queries: list[Query], repeats: int,
           rounds: int) -> None:
    builds = build_times(kb, repeats)
    figures = measure(kb, queries, rounds)
    in_scope = sum(1 for q in queries if q.expect)
    print(f"== {title}: {len(kb.entries('vi'))} entries per language ==")
    print(f"index build          {statistics.median(builds) * 1000:8.1f} ms "
          f"(median of {repeats})")
    print(f"top-1 accuracy       {figures['top1']:8.1%}  ({in_scope} in-scope questions; the "
          f"first entry shown, answered or offered)")
    print(f"top-3 accuracy       {figures['top3']:8.1%}  (among the entries shown)")
    print(f"answered outright    {figures['sure']:8.1%}  (one answer, the right one)")
    print(f"wrong sure answers   {figures['wrong']:8.1%}  (one answer, another entry)")
    print(f"out-of-scope fallback{figures['fallback']:8.1%}  "
          f"({len(queries) - in_scope} questions)")
    print(f"out of scope answered{figures['out_answered']:8.1%}")
    print(f"English in English   {figures['english']:8.1%}")
    print(f"latency p50          {figures['p50'] * 1000:8.2f} ms")
    print(f"latency p99          {figures['p99'] * 1000:8.2f} ms")
    for kind, (hits, total) in by_kind(kb, queries).items():
        print(f"  {kind:<18} {hits:3d}/{total:<3d} {hits / total:6.1%}")
    held_out = [q for q in queries if q.held_out]
    if held_out:
        figures = accuracy(kb, held_out)
        print(f"held-out questions only ({sum(1 for q in held_out if q.expect)} in scope, "
              f"{sum(1 for q in held_out if not q.expect)} out of scope): "
              f"top-1 {figures['top1']:.1%}, top-3 {figures['top3']:.1%}, answered outright "
              f"{figures['sure']:.1%}, wrong sure answers {figures['wrong']:.1%}, "
              f"out-of-scope fallback {figures['fallback']:.1%}")


def calibrate(kb: KnowledgeBase, queries: list[Query]) -> None:
    print(f"{'high':>5} {'low':>5} {'margin':>6} {'domain':>6} {'top-1':>6} {'sure':>6} "
          f"{'wrong':>6} {'top-3':>6} {'fallback':>8}   (current: {THRESHOLDS})")
    steps = [round(0.64 + 0.02 * step, 2) for step in range(9)]
    for high in steps:
        for low in (low for low in steps if low <= high):
            for margin in (0.02, 0.04):
                for in_domain in (0.45, 0.50, 0.55, 0.60):
                    f = accuracy(kb, queries, Thresholds(high, low, margin, in_domain))
                    print(f"{high:5.2f} {low:5.2f} {margin:6.2f} {in_domain:6.2f} "
                          f"{f['top1']:6.1%} {f['sure']:6.1%} {f['wrong']:6.1%} "
                          f"{f['top3']:6.1%} {f['fallback']:8.1%}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (smoke run)")
    parser.add_argument("--calibrate", action="store_true",
                        help="accuracy under other thresholds instead of the benchmark")
    args = parser.parse_args(argv)
    if args.calibrate:
        calibrate(KnowledgeBase.load(), load_queries())
        return 0
    if hasattr(os, "sched_setaffinity"):  # the latency target is for one core
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    repeats, rounds = (2, 1) if args.quick else (7, 5)
    start = time.perf_counter()
    kb = KnowledgeBase.load()
    print(f"load and check the knowledge base: {(time.perf_counter() - start) * 1000:.1f} ms")
    queries = load_queries()
    report("real knowledge base", kb, queries, repeats, rounds)
    report(f"knowledge base x{SCALE} (synthetic entries)", synthetic_kb(kb, SCALE), queries,
           repeats, rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
