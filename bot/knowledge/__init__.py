"""Prevention questions answered from the knowledge base in ``locales/{vi,en}/faq/*.toml``.

A wrong confident answer about health or the law is worse than "I am not sure", so every answer
carries a confidence: above ``THRESHOLDS.high`` (and clearly ahead of the runner-up) one entry is
answered, between ``low`` and ``high`` a few candidates are offered ("did you mean"), below
``low`` the caller shows the fallback. Words of danger (overdose, self-harm, violence) set
``safety`` whatever else matches.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import tomllib
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from bot.errors import KnowledgeBaseError
from bot.knowledge._decide import Decision, Thresholds, decide
from bot.knowledge._language import detect_language
from bot.knowledge._retrieval import Document, Index, Weights
from bot.knowledge._safety import Crisis, crises_of, crisis_of
from bot.knowledge._semantic import Meaning, SemanticIndex, phrasing_texts, warm
from bot.knowledge._smalltalk import Talk, smalltalk_of
from bot.knowledge.vectors import FILE_NAME as VECTORS_FILE
from bot.knowledge.vectors import VectorCache
from bot.paths import LOCALES_DIR
from bot.text import clean_user_text

__all__ = ["LANGUAGES", "THRESHOLDS", "Answer", "Crisis", "Entry", "KnowledgeBase", "Talk",
           "Thresholds", "Topic", "crisis_of", "detect_language", "smalltalk_of"]

log = logging.getLogger(__name__)

LANGUAGES = ("vi", "en")
MAX_ANSWER_CHARS = 900
OUTSIDE_FILE = "outside.toml"
# Questions are a sentence or two; anything longer is cut before analysis so that a pasted
# article costs no more than a question.
MAX_QUERY_CHARS = 400


# Calibrated on bench/data/faq_eval with ``python -m bench.faq --calibrate``.
THRESHOLDS = Thresholds(alone=0.80, high=0.68, low=0.68, margin=0.04, low_in_domain=0.55,
                        veto_gap=0.02, veto_gap_plain=0.03, promote=0.92, promote_margin=0.04,
                        related=0.96, unrelated=0.85, agree_low=0.55, agree_sim=0.90)

WEIGHTS = Weights()

# The menu order of the topics (from the knowledge-base format); other topics follow by name.
TOPIC_ORDER = ("drugs", "substances", "disguised", "harms", "signs", "myths", "talking",
               "emergency", "help", "law", "reporting", "community")

_ENTRY_KEYS = frozenset({"id", "questions", "keywords", "answer", "sources", "reviewed"})
_REQUIRED_KEYS = _ENTRY_KEYS - {"keywords"}
_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# "Không." answers "is cannabis harmless?" and contradicts "is cannabis harmful?": an answer
# states the fact instead, which fits either way of asking.
_POLAR_OPENING = re.compile(r"^(?:có|không|không đúng|đúng|sai|được|yes|no|not true|true|false)"
                            r"\s*[.!,:;]", re.IGNORECASE)

ASKERS = 1
"""Questions answered at once in the process; others wait their turn. The embedding runs on one
core by design (the latency target is per core), so more threads would only share it."""
# Answering runs on this thread, not the event loop: embedding a question takes tens of
# milliseconds in which a bot with many chats must keep reading and sending.
_askers = ThreadPoolExecutor(ASKERS, thread_name_prefix="pcmt-faq")

# The topics whose entries may follow each safety message: a threatened informant is helped
# by the entry on informants' protection as much as by the emergency ones.
_FITTING_TOPICS: dict[Crisis, frozenset[str]] = {
    "overdose": frozenset({"emergency"}), "danger": frozenset({"emergency", "reporting"}),
    "suicide": frozenset()}

Kind = Literal["safety", "answer", "suggest", "fallback", "smalltalk"]


@dataclass(frozen=True, slots=True)
class Entry:
    id: str
    topic: str
    lang: str
    questions: tuple[str, ...]
    keywords: tuple[str, ...]
    answer: str
    sources: tuple[str, ...]
    reviewed: date


@dataclass(frozen=True, slots=True)
class Topic:
    """A menu heading and its entries; ``domain`` lists words that put a question inside it
    (drug names, "cai nghiện", "tố giác"), whichever entry answers it."""

    id: str
    lang: str
    title: str
    entry_ids: tuple[str, ...]
    domain: tuple[str, ...] = ()


@dataclass(frozen=True)
class Answer:
    """What the knowledge base makes of a question.

    ``crisis`` (and ``safety``) means the caller must show the safety message for that
    situation first; ``entry`` may still hold an emergency entry. ``suggestions`` are other
    likely entries, best first. ``talk`` is the kind of small talk a "smalltalk" answer is.
    """

    kind: Kind
    lang: str
    entry: Entry | None
    score: float
    suggestions: tuple[Entry, ...]
    crisis: Crisis | None = None
    also: tuple[Crisis, ...] = ()
    """Other situations the message describes ("I swallowed the pills because I want to die":
    an overdose first, despair too)."""
    talk: Talk | None = None
    embedded: bool = False
    """Whether the embedding was consulted (the slower path)."""

    @property
    def safety(self) -> bool:
        return self.crisis is not None


# --- loading ----------------------------------------------------------------------------------


def _fail(path: Path, problem: str, entry: str | None = None) -> KnowledgeBaseError:
    where = f"{path}" if entry is None else f"{path}, entry {entry!r}"
    return KnowledgeBaseError(f"{where}: {problem}")


def _strings(path: Path, entry_id: str | None, raw: dict[str, Any], key: str,
             required: bool) -> tuple[str, ...]:
    """``raw[key]`` as stripped strings; ``entry_id`` names the entry in errors (None: the
    topic file itself)."""
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise _fail(path, f"{key} must be a list of non-empty strings", entry_id)
    if required and not value:
        raise _fail(path, f"{key} must not be empty", entry_id)
    return tuple(v.strip() for v in value)


def _parse_entry(path: Path, topic: str, lang: str, raw: Any) -> Entry:
    if not isinstance(raw, dict):
        raise _fail(path, "every [[entry]] must be a table")
    entry_id = raw.get("id")
    if not isinstance(entry_id, str) or not _ID.match(entry_id):
        raise _fail(path, "id must be a kebab-case string", str(entry_id))
    if not entry_id.startswith(f"{topic}-"):
        raise _fail(path, f"id must start with the topic, {topic!r}", entry_id)
    if missing := sorted(_REQUIRED_KEYS - raw.keys()):
        raise _fail(path, f"missing {', '.join(missing)}", entry_id)
    if unknown := sorted(raw.keys() - _ENTRY_KEYS):
        raise _fail(path, f"unknown field {', '.join(unknown)}", entry_id)
    answer = raw["answer"]
    if not isinstance(answer, str) or not answer.strip():
        raise _fail(path, "answer must be a non-empty string", entry_id)
    if _POLAR_OPENING.match(answer.strip()):
        raise _fail(path, "answer must not open with a bare yes or no: the same entry answers "
                          "questions asked the other way round", entry_id)
    if len(answer.strip()) > MAX_ANSWER_CHARS:
        raise _fail(path, f"answer has {len(answer.strip())} characters, more than "
                          f"{MAX_ANSWER_CHARS}", entry_id)
    reviewed = raw["reviewed"]
    if not isinstance(reviewed, date) or isinstance(reviewed, datetime):
        raise _fail(path, "reviewed must be a date (YYYY-MM-DD)", entry_id)
    return Entry(id=entry_id, topic=topic, lang=lang,
                 questions=_strings(path, entry_id, raw, "questions", required=True),
                 keywords=_strings(path, entry_id, raw, "keywords", required=False),
                 answer=answer.strip(),
                 sources=_strings(path, entry_id, raw, "sources", required=True),
                 reviewed=reviewed)


def _load_topic(path: Path, lang: str) -> tuple[Topic, list[Entry]]:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise _fail(path, f"cannot read: {error}") from error
    topic, title, raw_entries = data.get("topic"), data.get("title"), data.get("entry")
    if topic != path.stem:
        raise _fail(path, f"topic must be {path.stem!r}, the file name")
    if not isinstance(title, str) or not title.strip():
        raise _fail(path, "title must be a non-empty string")
    if not isinstance(raw_entries, list) or not raw_entries:
        raise _fail(path, "no [[entry]] tables")
    domain = _strings(path, None, data, "domain", required=False)
    entries = [_parse_entry(path, topic, lang, raw) for raw in raw_entries]
    return Topic(topic, lang, title.strip(), tuple(e.id for e in entries), domain), entries


def _outside(root: Path) -> list[str]:
    """The everyday questions of ``root/{lang}/outside.toml`` (none when absent), Vietnamese
    ones also folded."""
    found: list[str] = []
    for lang in LANGUAGES:
        path = root / lang / OUTSIDE_FILE
        if not path.is_file():
            continue
        try:
            with path.open("rb") as handle:
                data = tomllib.load(handle)
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise _fail(path, f"cannot read: {error}") from error
        found.extend(phrasing_texts(_strings(path, None, data, "questions", required=True),
                                    lang))
    return found


def _topic_key(topic: Topic) -> tuple[int, str]:
    known = topic.id in TOPIC_ORDER
    return (TOPIC_ORDER.index(topic.id) if known else len(TOPIC_ORDER), topic.id)


# --- the knowledge base -----------------------------------------------------------------------


class KnowledgeBase:
    """Entries of both languages with one search index per language."""

    def __init__(self, topics: Iterable[Topic], entries: Iterable[Entry],
                 vectors: VectorCache | None = None, outside: Iterable[str] = ()) -> None:
        self._topics: dict[str, list[Topic]] = {lang: [] for lang in LANGUAGES}
        for topic in topics:
            self._topics[topic.lang].append(topic)
        for found in self._topics.values():
            found.sort(key=_topic_key)
        self._entries: dict[str, dict[str, Entry]] = {lang: {} for lang in LANGUAGES}
        for entry in entries:
            if entry.id in self._entries[entry.lang]:
                raise KnowledgeBaseError(f"entry {entry.id!r} ({entry.lang}) appears twice")
            self._entries[entry.lang][entry.id] = entry
        vi, en = (list(self._entries[lang]) for lang in LANGUAGES)
        if sorted(vi) != sorted(en):
            odd = sorted(set(vi) ^ set(en))
            raise KnowledgeBaseError(f"entries missing in one language: {', '.join(odd)}")
        self._ids = vi
        self._indexes = {
            lang: Index([Document(e.questions, e.keywords, e.answer)
                         for e in (self._entries[lang][i] for i in self._ids)], lang, WEIGHTS,
                        [term for topic in self._topics[lang] for term in topic.domain])
            for lang in LANGUAGES}
        self.vectors = VectorCache() if vectors is None else vectors
        self._outside = tuple(outside)
        embedded = self._embedded()
        self._semantic = SemanticIndex(self.vectors.vectors([text for _, text in embedded]),
                                       [owner for owner, _ in embedded], len(self._ids))

    def _embedded(self) -> list[tuple[int, str]]:
        """(entry position, text) to embed; the outside questions belong to no entry and get
        the position after the last."""
        found = [(doc, text) for doc, entry_id in enumerate(self._ids) for lang in LANGUAGES
                 for text in phrasing_texts(self._entries[lang][entry_id].questions, lang)]
        found.extend((len(self._ids), text) for text in self._outside)
        return found

    def embedded_texts(self) -> list[str]:
        """Every text whose vector the knowledge base uses."""
        return [text for _, text in self._embedded()]

    @classmethod
    def load(cls, root: Path | None = None) -> KnowledgeBase:
        """Read and check the knowledge base under ``root`` (default: the repository's locales).

        ``root`` is a locales directory (``root/vi/faq/*.toml``) or a directory holding the
        topic files directly (``root/vi/*.toml``).
        """
        root = LOCALES_DIR if root is None else root
        topics: list[Topic] = []
        entries: list[Entry] = []
        files: dict[str, list[str]] = {}
        paths_by_topic: dict[str, Path] = {}  # the English file, the one that must follow
        for lang in LANGUAGES:
            directory = root / lang / "faq"
            if not directory.is_dir():
                directory = root / lang
            paths = sorted(directory.glob("*.toml"))
            if not paths:
                raise KnowledgeBaseError(f"{directory}: no knowledge-base files")
            files[lang] = [p.name for p in paths]
            paths_by_topic.update((p.stem, p) for p in paths)
            for path in paths:
                topic, found = _load_topic(path, lang)
                topics.append(topic)
                entries.extend(found)
        if files["vi"] != files["en"]:
            odd = sorted(set(files["vi"]) ^ set(files["en"]))
            raise KnowledgeBaseError(f"{root}: topic files missing in one language: "
                                     f"{', '.join(odd)}")
        by_topic = {(t.lang, t.id): t for t in topics}
        for topic in (t for t in topics if t.lang == "vi"):
            other = by_topic[("en", topic.id)]
            if topic.entry_ids != other.entry_ids:
                path = paths_by_topic[topic.id]
                odd = [a for a, b in zip(topic.entry_ids, other.entry_ids, strict=False) if a != b]
                raise _fail(path, "entries differ from the Vietnamese file (ids or order)",
                            odd[0] if odd else None)
        vectors = VectorCache.read(root / VECTORS_FILE)
        kb = cls(topics, entries, vectors, _outside(root))
        warm()
        if vectors.embedded:
            log.warning("event=faq_vectors_stale embedded=%d hint=%s", vectors.embedded,
                        "python -m bot.knowledge")
        return kb

    def topics(self, lang: str) -> list[Topic]:
        return list(self._topics[lang])

    def entry(self, entry_id: str, lang: str) -> Entry | None:
        return self._entries[lang].get(entry_id)

    def entries(self, lang: str) -> list[Entry]:
        return [self._entries[lang][i] for i in self._ids]

    def answer(self, text: str, lang: str | None = None,
               thresholds: Thresholds = THRESHOLDS, prefer: str = "vi") -> Answer:
        """Answer ``text`` in ``lang`` (default: the language it is written in, or ``prefer``,
        the person's language, when the text does not say)."""
        for language in (lang, prefer):
            if language is not None and language not in LANGUAGES:
                raise ValueError(f"unknown language {language!r}")
        text = clean_user_text(text, MAX_QUERY_CHARS)
        detected = detect_language(text, prefer)
        out = lang or detected
        crises = crises_of(text)
        crisis = crises[0] if crises else None
        if crisis is None and (talk := smalltalk_of(text)) is not None:
            return Answer("smalltalk", lang or prefer, None, 0.0, (), talk=talk)
        ranked, in_domain = self.rank(text, detected)
        decision = decide(ranked, in_domain, lambda: self._semantic.meaning(text), thresholds)
        return self._answer(decision, out, crises)

    async def ask(self, text: str, lang: str | None = None, prefer: str = "vi") -> Answer:
        """:meth:`answer` on the knowledge base's worker thread, for callers on the event
        loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            _askers, functools.partial(self.answer, text, lang, prefer=prefer))

    def _answer(self, decision: Decision, lang: str, crises: tuple[Crisis, ...]) -> Answer:
        shown = [self._entries[lang][self._ids[doc]] for doc in decision.docs]
        if crises:
            crisis = crises[0]
            # Only an entry about the situation belongs under a safety message: a person who
            # wants to die is not to be answered with whichever entry shares a word with it.
            fitting = [e for e in shown if e.topic in _FITTING_TOPICS[crisis]]
            entry = fitting[0] if decision.kind == "answer" and fitting else None
            return Answer("safety", lang, entry, decision.score,
                          tuple(e for e in fitting if e is not entry), crisis, also=crises[1:],
                          embedded=decision.embedded)
        if decision.kind == "answer":
            return Answer("answer", lang, shown[0], decision.score, tuple(shown[1:]),
                          embedded=decision.embedded)
        return Answer(decision.kind, lang, None, decision.score, tuple(shown),
                      embedded=decision.embedded)

    def rank(self, text: str, lang: str) -> tuple[list[tuple[int, float]], bool]:
        """Entry positions with their lexical confidence in 0..1, best first, and whether
        ``text`` names a term of the domain."""
        ranking = self._indexes[lang].rank(text)
        scored = [(c.doc, c.confidence(WEIGHTS)) for c in ranking.candidates]
        scored.sort(key=lambda item: -item[1])
        return scored, ranking.in_domain

    def meaning(self, text: str) -> Meaning:
        """How close ``text`` is in meaning to each entry (by position) and to the everyday
        questions outside the knowledge base."""
        return self._semantic.meaning(clean_user_text(text, MAX_QUERY_CHARS))
