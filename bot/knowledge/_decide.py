"""From the two rankings of a question to what the person is shown.

The lexical ranker is fast and usually right when sure; the embedding (``_semantic``) knows
what a question means when it shares few words with any phrasing. The embedding is consulted
only when the lexical answer is not clearly sure, and then it can veto a confident answer it
finds far from the question (an identity-card question matched to rehab registration through
"căn cước") or promote its own clear winner when the lexical ranker is unsure ("What is crystal
meth?"). Both are pure functions of the two rankings, so ``bench.faq --calibrate`` can try
other thresholds without embedding again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:
    from bot.knowledge._semantic import Meaning

MAX_SHOWN = 3


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Where the evidence becomes an answer, a "did you mean", or the fallback.

    Lexical confidence: ``alone`` (with ``margin`` over the runner-up) answers without the
    embedding; ``high`` answers when the embedding does not veto; ``low`` offers "did you mean";
    ``low_in_domain`` is that bar for a question naming a term of the domain (a topic's
    ``domain`` list), which is in scope even when it matches no phrasing well.

    Embedding similarity (cosine, on e5's scale, where unrelated texts still score about
    0.75): a question naming no domain term that is closer to an everyday question outside the
    knowledge base than to any entry gets the fallback; a confident lexical answer is vetoed
    when its entry trails the embedding's best by more than ``veto_gap`` (``veto_gap_plain``
    for a question naming no domain term, where everyday questions sharing a word, "căn
    cước", "kẹo dẻo", land); the embedding's best is answered on its own at ``promote`` when
    it leads the next entry by ``promote_margin``; at ``related`` it is offered as "did you
    mean"; below ``unrelated`` nothing is offered, whatever the lexical ranker says. When both
    rankings put the same entry first, lexical confidence ``agree_low`` and similarity
    ``agree_sim`` are enough to offer it: two independent signals agreeing.
    """

    alone: float
    high: float
    low: float
    margin: float
    low_in_domain: float
    veto_gap: float
    veto_gap_plain: float
    promote: float
    promote_margin: float
    related: float
    unrelated: float
    agree_low: float
    agree_sim: float


Kind = Literal["answer", "suggest", "fallback"]


@dataclass(frozen=True, slots=True)
class Decision:
    kind: Kind
    docs: tuple[int, ...]
    """Documents to show, best first: the answer then other likely ones, or the options."""
    score: float
    embedded: bool


def _merge(*orders: Sequence[int]) -> tuple[int, ...]:
    return tuple(dict.fromkeys(doc for order in orders for doc in order))[:MAX_SHOWN]


def decide(ranked: Sequence[tuple[int, float]], in_domain: bool,
           meaning: Callable[[], Meaning], t: Thresholds) -> Decision:
    """``ranked``: lexical (document, confidence), best first; ``meaning``: the embedding's
    view, asked only when the lexical ranking cannot decide alone."""
    score = ranked[0][1] if ranked else 0.0
    lead = score - (ranked[1][1] if len(ranked) > 1 else 0.0)
    lexical = [doc for doc, _ in ranked[:MAX_SHOWN]]
    if score >= t.alone and lead >= t.margin and in_domain:
        return Decision("answer", tuple(lexical), score, embedded=False)
    sims, outside = meaning()
    order = [int(doc) for doc in np.argsort(-sims)[:MAX_SHOWN]]
    best = float(sims[order[0]]) if order else 0.0
    second = float(sims[order[1]]) if len(order) > 1 else 0.0
    # A question naming no term of the domain that means an everyday question more than any
    # entry is one: "làm căn cước ở đâu" is about identity cards, whatever it shares with rehab.
    if best < t.unrelated or (not in_domain and outside >= best):
        return Decision("fallback", (), score, embedded=True)
    agrees = bool(ranked) and sims[lexical[0]] >= best - (t.veto_gap if in_domain
                                                          else t.veto_gap_plain)
    if score >= t.high and lead >= t.margin and agrees:
        return Decision("answer", tuple(lexical), score, embedded=True)
    if best >= t.promote and best - second >= t.promote_margin:
        return Decision("answer", _merge(order[:1], lexical, order), best, embedded=True)
    if score >= (t.low_in_domain if in_domain else t.low) and (in_domain or agrees):
        return Decision("suggest", _merge(lexical, order), score, embedded=True)
    if lexical[:1] == order[:1] and score >= t.agree_low and best >= t.agree_sim:
        return Decision("suggest", _merge(lexical, order), score, embedded=True)
    if best >= t.related:
        return Decision("suggest", _merge(order, lexical), best, embedded=True)
    return Decision("fallback", (), score, embedded=True)
