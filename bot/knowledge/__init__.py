"""Prevention questions answered from the knowledge base in ``locales/{vi,en}/faq/*.toml``.

A wrong confident answer about health or the law is worse than "I am not sure", so every answer
carries a confidence: above ``THRESHOLDS.high`` (and clearly ahead of the runner-up) one entry is
answered, between ``low`` and ``high`` a few candidates are offered ("did you mean"), below
``low`` the caller shows the fallback. Words of danger (overdose, self-harm, violence) set
``safety`` whatever else matches.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from bot.errors import KnowledgeBaseError
from bot.knowledge._analysis import EN_STOPWORDS, TEENCODE, VI_STOPWORDS, VI_SYLLABLE
from bot.knowledge._retrieval import Document, Index, Weights
from bot.paths import LOCALES_DIR
from bot.text import clean_user_text, fold, tokens

LANGUAGES = ("vi", "en")
MAX_ANSWER_CHARS = 900
# Questions are a sentence or two; anything longer is cut before analysis so that a pasted
# article costs no more than a question.
MAX_QUERY_CHARS = 400


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Where a confidence becomes an answer, a "did you mean", or the fallback.

    ``margin``: how far the best entry must lead the second to be answered alone; two entries
    that match a question equally well ("phạt": which fine?) are offered side by side.
    ``low_in_domain``: the "did you mean" bar for a question that names a drug or another term
    of the domain (a topic's ``domain`` list). Such a question is in scope even when it matches
    no phrasing well, and offering a few entries then helps more than the fallback; without
    such a term, a middling match is as likely a question about something else ("trà sữa ngon
    ở đâu") as a question we can answer.
    """

    high: float
    low: float
    margin: float
    low_in_domain: float


# Calibrated on bench/data/faq_eval with ``python -m bench.faq --calibrate``.
THRESHOLDS = Thresholds(high=0.68, low=0.68, margin=0.04, low_in_domain=0.55)

WEIGHTS = Weights()

# The menu order of the topics (from the knowledge-base format); other topics follow by name.
TOPIC_ORDER = ("drugs", "substances", "disguised", "harms", "signs", "myths", "talking",
               "emergency", "help", "law", "reporting", "community")

_ENTRY_KEYS = frozenset({"id", "questions", "keywords", "answer", "sources", "reviewed"})
_REQUIRED_KEYS = _ENTRY_KEYS - {"keywords"}
_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_MAX_SUGGESTIONS = 3

Kind = Literal["safety", "answer", "suggest", "fallback"]


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

    ``safety`` means the caller must show the emergency numbers first; ``entry`` may still hold
    the best entry. ``suggestions`` are other likely entries, best first.
    """

    kind: Kind
    lang: str
    entry: Entry | None
    score: float
    suggestions: tuple[Entry, ...]
    safety: bool


# --- language ---------------------------------------------------------------------------------

_VI_LETTERS = frozenset("ăâđêôơưàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ")
_VI_MARKERS = VI_STOPWORDS | frozenset(TEENCODE) | frozenset([
    "ma", "tuy", "nghien", "cai", "khong", "co", "bi", "bao", "nhieu", "phat", "nguoi", "con",
    "bo", "me", "ban", "thuoc", "hut", "choi", "dung", "sau", "cong", "an", "xa", "tu", "giac",
    "duong", "day", "nong", "lieu", "sao", "gio", "nhau", "biet", "muon", "hoi", "chuyen",
    "nha", "trai", "dau"
])
_EN_MARKERS = EN_STOPWORDS | frozenset([
    "drug", "drugs", "meth", "weed", "rehab", "help", "report", "police", "law", "fine",
    "friend", "child", "son", "daughter"
])


def detect_language(text: str) -> str:
    """``"vi"`` or ``"en"``: Vietnamese letters decide at once, otherwise the words vote."""
    if any(ch in _VI_LETTERS for ch in unicodedata.normalize("NFC", text.lower())):
        return "vi"
    vi = en = 0.0
    for token in tokens(text):
        if token.isdigit():
            continue
        in_vi, in_en = token in _VI_MARKERS, token in _EN_MARKERS
        if in_vi and not in_en:
            vi += 1
        elif in_en and not in_vi:
            en += 1
        elif not (in_vi or in_en):
            if VI_SYLLABLE.match(token):
                vi += 0.5
            else:
                en += 1
    return "en" if en > vi else "vi"


# --- safety -----------------------------------------------------------------------------------

# Folded phrases that mean someone may be in danger now. Caution wins over precision: a needless
# safety line costs one sentence, a missed one can cost a life.
_DANGER = tuple(f" {phrase} " for phrase in """
muon chet|muon tu tu|tu tu|tu sat|ket lieu|khong muon song|chan song|tu lam hai|tu hai
|rach tay|nhay lau|nhay cau|treo co|thuoc tru sau|thuoc chuot|uong ca vi thuoc
|qua lieu|soc thuoc|soc ma tuy|ngo doc|dau doc|trung doc|bat tinh|ngat xiu|bi ngat|bi xiu
|ngat roi|xiu roi|lan ra bat tinh|goi khong tinh|goi khong day|lay khong day|ngung tho|khong tho
|kho tho|tho yeu|tho kho khe|sui bot mep|co giat|ngat tho
|ngao da cam dao|cam dao|hung khi|doa giet|doi giet|giet nguoi|dam chem|danh nhau|hanh hung
|bao hanh|de doa|bat coc|no sung|co sung
|kill myself|killing myself|suicide|suicidal|end my life|want to die|wanna die|self harm
|hurt myself|cut myself|overdose|overdosed|overdosing|od|od d|poisoned|poisoning
|not breathing|stopped breathing|can t breathe|cant breathe|barely breathing|unconscious
|unresponsive|passed out|won t wake up|wont wake up|collapsed|seizure|seizures|convulsing
|blue lips|knife|threatening|threatened|violent|kidnapped
""".replace("\n", "").split("|"))
# Phrases whose folded form is a common harmless word ("tu van" is "tư vấn", counselling;
# "moi tim" is "mới tìm", just found): matched only with their diacritics.
_DANGER_ACCENTED = tuple(f" {phrase} " for phrase in
                         ("tự vẫn", "ngất", "xỉu", "hôn mê", "tím tái", "môi tím", "ngạt"))
# Everyday idioms that contain a danger phrase ("mệt muốn chết": tired to death).
_HARMLESS = tuple(f" {phrase} " for phrase in """
met muon chet|doi muon chet|nong muon chet|lanh muon chet|cuoi muon chet|chet cuoi
|tu tu thoi|cu tu tu|tu tu nhe|tu tu da|tu tu ma
""".replace("\n", "").split("|"))
_NON_WORD = re.compile(r"[\W_]+")


def safety_risk(text: str) -> bool:
    """True when ``text`` suggests that someone may be in danger now."""
    text = clean_user_text(text, MAX_QUERY_CHARS)
    folded = f" {fold(text)} "
    for phrase in _HARMLESS:
        folded = folded.replace(phrase, " ")
    accented = any(ch in _VI_LETTERS for ch in text.lower())
    if accented:
        lowered = f" {_NON_WORD.sub(' ', text.lower())} "
        if any(phrase in lowered for phrase in _DANGER_ACCENTED):
            return True
    return any(phrase in folded for phrase in _DANGER)


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


def _topic_key(topic: Topic) -> tuple[int, str]:
    known = topic.id in TOPIC_ORDER
    return (TOPIC_ORDER.index(topic.id) if known else len(TOPIC_ORDER), topic.id)


# --- the knowledge base -----------------------------------------------------------------------


class KnowledgeBase:
    """Entries of both languages with one search index per language."""

    def __init__(self, topics: Iterable[Topic], entries: Iterable[Entry]) -> None:
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
        return cls(topics, entries)

    def topics(self, lang: str) -> list[Topic]:
        return list(self._topics[lang])

    def entry(self, entry_id: str, lang: str) -> Entry | None:
        return self._entries[lang].get(entry_id)

    def entries(self, lang: str) -> list[Entry]:
        return [self._entries[lang][i] for i in self._ids]

    def answer(self, text: str, lang: str | None = None,
               thresholds: Thresholds = THRESHOLDS) -> Answer:
        """Answer ``text`` in ``lang`` (default: the language it is written in)."""
        if lang is not None and lang not in LANGUAGES:
            raise ValueError(f"unknown language {lang!r}")
        text = clean_user_text(text, MAX_QUERY_CHARS)
        detected = detect_language(text)
        out = lang or detected
        safety = safety_risk(text)
        ranked, in_domain = self.rank(text, detected)
        entries = self._entries[out]
        score = ranked[0][1] if ranked else 0.0
        runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
        best = [entries[self._ids[doc]] for doc, _ in ranked[:_MAX_SUGGESTIONS]]
        if score >= thresholds.high and score - runner_up >= thresholds.margin:
            kind: Kind = "safety" if safety else "answer"
            return Answer(kind, out, best[0], score, tuple(best[1:]), safety)
        low = score >= (thresholds.low_in_domain if in_domain else thresholds.low)
        if safety:
            return Answer("safety", out, None, score, tuple(best) if low else (), True)
        if low:
            return Answer("suggest", out, None, score, tuple(best), False)
        return Answer("fallback", out, None, score, (), False)

    def rank(self, text: str, lang: str) -> tuple[list[tuple[int, float]], bool]:
        """Entry positions with their confidence in 0..1, best first, and whether ``text``
        names a term of the domain."""
        ranking = self._indexes[lang].rank(text)
        scored = [(c.doc, c.confidence(WEIGHTS)) for c in ranking.candidates]
        scored.sort(key=lambda item: -item[1])
        return scored, ranking.in_domain
