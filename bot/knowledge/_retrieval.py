"""BM25F ranking behind :mod:`bot.knowledge`, with typo correction and the evidence that makes a
confidence.

The index is BM25F written out here rather than taken from a library: the libraries on PyPI
(rank-bm25, bm25s) score one flat field, while this needs per-field weights (questions and
keywords count more than the answer text) on a few thousand short documents, which plain
dictionaries handle in well under a millisecond.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from operator import itemgetter

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from bot.knowledge._analysis import VI_SYLLABLE, terms, words


@dataclass(frozen=True, slots=True)
class Document:
    """What the index knows of one entry: each field as a list of phrasings."""

    questions: tuple[str, ...]
    keywords: tuple[str, ...]
    answer: str


@dataclass(frozen=True, slots=True)
class Weights:
    """BM25F parameters and the mix that turns evidence into a confidence."""

    k1: float = 1.2
    questions: float = 1.0
    keywords: float = 1.0
    answer: float = 0.25
    b_questions: float = 0.5
    b_keywords: float = 0.3
    b_answer: float = 0.75
    answer_credit: float = 0.5
    corrected_credit: float = 0.7
    shortlist: int = 5
    # The confidence is a weighted mean of the evidence in :class:`Candidate`.
    by_coverage: float = 0.3
    by_fuzzy: float = 0.4
    by_overlap: float = 0.1
    by_lead: float = 0.2


@dataclass(frozen=True, slots=True)
class Candidate:
    """Evidence that a document answers a question, each part in 0..1 but ``bm25``.

    ``coverage``: how much of the question (by idf) the document's words cover. ``fuzzy``: the
    best typo-tolerant match with one phrasing. ``overlap``: the best weighted Dice overlap of
    terms (word pairs included) with one phrasing or keyword, which, unlike the first two, drops
    when the phrasing says much more than the question. ``lead``: BM25 against the best
    document's, which separates documents that all contain the question's few words.
    """

    doc: int
    bm25: float
    coverage: float
    fuzzy: float
    overlap: float
    lead: float

    def confidence(self, weights: Weights) -> float:
        total = weights.by_coverage + weights.by_fuzzy + weights.by_overlap + weights.by_lead
        return (weights.by_coverage * self.coverage + weights.by_fuzzy * self.fuzzy
                + weights.by_overlap * self.overlap + weights.by_lead * self.lead) / total


@dataclass(frozen=True, slots=True)
class Ranking:
    """The candidates for a question, best first, and whether it names a domain term."""

    candidates: list[Candidate]
    in_domain: bool


_CORRECTION_CACHE = 4096
# Questions, keywords and answer terms of one document.
_Fields = tuple[list[str], list[str], list[str]]


class Index:
    """BM25F over the questions, keywords and answer of each document of one language."""

    def __init__(self, documents: Sequence[Document], lang: str, weights: Weights,
                 domain: Sequence[str] = ()) -> None:
        self.lang = lang
        self.weights = weights
        self._domain = frozenset(filter(None, (" ".join(words(term, lang)) for term in domain)))
        self._domain_span = max((term.count(" ") + 1 for term in self._domain), default=0)
        fields: list[_Fields] = []
        self._phrasings: list[tuple[str, ...]] = []
        self._strength: list[dict[str, float]] = []
        phrase_terms: list[list[list[str]]] = []
        frequency: Counter[str] = Counter()
        for doc in documents:
            question_words = [words(q, lang) for q in doc.questions]
            keyword_words = [words(k, lang) for k in doc.keywords]
            # Answers are long: their single words widen recall, their word pairs would mostly
            # add noise (and build time).
            answer_words = words(doc.answer, lang)
            question_terms = [terms(w) for w in question_words]
            keyword_terms = [terms(w) for w in keyword_words]
            found = ([t for ts in question_terms for t in ts],
                     [t for ts in keyword_terms for t in ts], answer_words)
            fields.append(found)
            frequency.update(set(found[0]).union(found[1], found[2]))
            self._phrasings.append(tuple(" ".join(w) for w in question_words))
            phrase_terms.append([ts for ts in question_terms + keyword_terms if ts])
            strength = dict.fromkeys(answer_words, weights.answer_credit)
            strength.update(dict.fromkeys((w for ws in question_words + keyword_words
                                           for w in ws), 1.0))
            self._strength.append(strength)
        self._n = len(fields)
        self._idf = {term: self._idf_of(df) for term, df in frequency.items()}
        self.unseen_idf = self._idf_of(0)
        self._postings = self._build_postings(fields)
        # A term in more documents than this only adds to documents that rarer terms found:
        # it hardly moves the ranking and would otherwise cost a pass over most of the index.
        self._common = max(64, self._n // 8)
        self._index_phrasings(phrase_terms)
        self._by_length: defaultdict[int, list[str]] = defaultdict(list)
        unigrams = sorted((t for t in frequency if "_" not in t), key=lambda t: -frequency[t])
        for term in unigrams:
            self._by_length[len(term)].append(term)
        self.vocabulary = frozenset(unigrams)
        self._corrections: dict[str, str | None] = {}

    def _build_postings(self, fields: Sequence[_Fields]) -> dict[str, dict[int, float]]:
        weights = self.weights
        field_weight = (weights.questions, weights.keywords, weights.answer)
        field_b = (weights.b_questions, weights.b_keywords, weights.b_answer)
        average = [max(sum(len(f[i]) for f in fields) / max(self._n, 1), 1.0) for i in range(3)]
        k1, idf = weights.k1, self._idf
        shares = [[field_weight[i] / (1 - field_b[i] + field_b[i] * len(f[i]) / average[i])
                   for i in range(3)] for f in fields]
        postings: defaultdict[str, list[tuple[int, float]]] = defaultdict(list)
        for number, (doc_fields, doc_shares) in enumerate(zip(fields, shares, strict=True)):
            weighted: defaultdict[str, float] = defaultdict(float)
            for found_terms, share in zip(doc_fields, doc_shares, strict=True):
                for term, tf in Counter(found_terms).items():
                    weighted[term] += share * tf
            for term, frequency_weight in weighted.items():
                postings[term].append((number, idf[term] * frequency_weight * (k1 + 1)
                                       / (k1 + frequency_weight)))
        return {term: dict(found) for term, found in postings.items()}

    def _index_phrasings(self, phrase_terms: Sequence[Sequence[Sequence[str]]]) -> None:
        # Per document, which of its phrasings hold each term, and each phrasing's idf mass: the
        # overlap with a question then costs a lookup per question term, not a set per phrasing.
        idf = self._idf
        self._phrase_mass = [[sum(idf[t] for t in set(ts)) for ts in doc_terms]
                             for doc_terms in phrase_terms]
        self._phrases_with: list[dict[str, list[int]]] = []
        for doc_terms in phrase_terms:
            holders: defaultdict[str, list[int]] = defaultdict(list)
            for number, phrase in enumerate(doc_terms):
                for term in set(phrase):
                    holders[term].append(number)
            self._phrases_with.append(dict(holders))

    def _idf_of(self, df: int) -> float:
        return math.log(1 + (self._n - df + 0.5) / (df + 0.5))

    def idf(self, term: str) -> float:
        return self._idf.get(term, self.unseen_idf)

    def correct(self, word: str) -> str | None:
        """The vocabulary word nearest to an unknown ``word`` (one edit, two for long words)."""
        if word in self._corrections:
            return self._corrections[word]
        best: str | None = None
        if self._correctable(word):
            limit = 1 if len(word) < 9 else 2
            best_distance = limit + 1
            # Buckets are ordered by document frequency, so ties go to the commoner word.
            for length in range(len(word) - limit, len(word) + limit + 1):
                for candidate in self._by_length.get(length, ()):
                    distance = Levenshtein.distance(word, candidate, score_cutoff=limit)
                    if distance < best_distance:
                        best, best_distance = candidate, distance
        if len(self._corrections) >= _CORRECTION_CACHE:
            self._corrections.clear()
        self._corrections[word] = best
        return best

    def _correctable(self, word: str) -> bool:
        # A well-formed Vietnamese syllable ("lớp", "gái") is far likelier a word the index lacks
        # than a typo of one it has; short English words are too close to each other to guess.
        if word.isdigit() or len(word) < 3:
            return False
        if self.lang == "vi":
            return VI_SYLLABLE.match(word) is None
        return len(word) >= 6

    def analyse(self, text: str) -> tuple[list[str], dict[str, float], bool]:
        """Query terms with their weight (1 when known, less when reached by a correction), and
        whether the words, corrected, name a domain term."""
        sequence: list[str] = []
        credit: dict[str, float] = {}
        for word in words(text, self.lang):
            if word in self.vocabulary or word.isdigit():
                sequence.append(word)
                continue
            fixed = self.correct(word)
            if fixed is None:
                sequence.append(word)
            else:
                sequence.append(fixed)
                credit[fixed] = self.weights.corrected_credit
        found = terms(sequence)
        weights = {term: min(credit.get(part, 1.0) for part in term.split("_")) for term in found}
        return found, weights, self._names_domain(sequence)

    def _names_domain(self, sequence: Sequence[str]) -> bool:
        return any(" ".join(sequence[start:start + span]) in self._domain
                   for span in range(1, self._domain_span + 1)
                   for start in range(len(sequence) - span + 1))

    def _overlap(self, doc: int, query_idf: dict[str, float], query_mass: float) -> float:
        """The best weighted Dice overlap of the question's terms with one of ``doc``'s
        phrasings."""
        shared: defaultdict[int, float] = defaultdict(float)
        phrases_with = self._phrases_with[doc]
        for term, idf in query_idf.items():
            for phrase in phrases_with.get(term, ()):
                shared[phrase] += idf
        mass = self._phrase_mass[doc]
        return max((2 * idf / (query_mass + mass[phrase]) for phrase, idf in shared.items()),
                   default=0.0)

    def rank(self, text: str) -> Ranking:
        """Documents sharing a term with ``text``, best first, with the evidence for each."""
        found, weights, in_domain = self.analyse(text)
        if not found:
            return Ranking([], in_domain)
        scores: defaultdict[int, float] = defaultdict(float)
        postings = [(weights[term], self._postings.get(term, {})) for term in set(found)]
        postings.sort(key=lambda item: len(item[1]))
        for weight, found_in in postings:
            if scores and len(found_in) > self._common:
                for doc in scores:
                    scores[doc] += weight * found_in.get(doc, 0.0)
                continue
            for doc, score in found_in.items():
                scores[doc] += weight * score
        if not scores:
            return Ranking([], in_domain)
        best = heapq.nlargest(self.weights.shortlist, scores.items(), key=itemgetter(1))
        query_idf = {term: self.idf(term) for term in found}
        unigrams = [t for t in found if "_" not in t]
        total = sum(query_idf[t] * weights[t] for t in unigrams) or 1.0
        query = " ".join(unigrams)
        query_mass = sum(query_idf.values())
        top = best[0][1]
        out: list[Candidate] = []
        for doc, score in best:
            strength = self._strength[doc]
            covered = sum(query_idf[t] * weights[t] * strength.get(t, 0.0) for t in unigrams)
            closest = process.extractOne(query, self._phrasings[doc], scorer=fuzz.token_set_ratio)
            similarity = closest[1] / 100 if closest else 0.0
            overlap = self._overlap(doc, query_idf, query_mass)
            out.append(Candidate(doc, score, covered / total, similarity, overlap, score / top))
        return Ranking(out, in_domain)
