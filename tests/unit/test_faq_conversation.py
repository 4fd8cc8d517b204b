"""The FAQ as a conversation: crisis messages that fit the situation, small talk, the person's
language, yes/no openings, the short first reply and its "more" button, the embedding's veto
and promotion."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from pathlib import Path

import numpy as np
import pytest

from bench.faq import load_crisis
from bot.conversation.i18n import gettext, use_language
from bot.errors import KnowledgeBaseError
from bot.knowledge import THRESHOLDS, KnowledgeBase, crisis_of, smalltalk_of
from bot.knowledge._decide import decide
from bot.knowledge._semantic import Meaning, tail
from bot.knowledge.vectors import FILE_NAME, VectorCache
from bot.paths import LOCALES_DIR
from handlers.faq import FaqButton, first_reply_text, render, split_answer

FIXTURES = Path(__file__).parent / "fixtures" / "faq"
DRUG_HOTLINE = "0769"


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load()


# --- crisis --------------------------------------------------------------------------------

CASES = load_crisis()
CRISIS = [(case.text, case.situation) for case in CASES if case.situation is not None]
ORDINARY = [case.text for case in CASES if case.situation is None]


def test_the_test_lists_are_long_enough() -> None:
    assert len(CRISIS) >= 150 and len(ORDINARY) >= 120
    assert {situation for _, situation in CRISIS} == {"suicide", "overdose", "danger"}


@pytest.mark.parametrize(("text", "expected"), CRISIS)
def test_crisis_messages_get_the_fitting_safety_message_first(
        kb: KnowledgeBase, text: str, expected: str) -> None:
    assert crisis_of(text) == expected
    answer = kb.answer(text)
    assert (answer.kind, answer.crisis) == ("safety", expected)
    reply = render(answer)
    with use_language(answer.lang):
        assert reply.text.startswith(gettext(f"faq.crisis.{expected}"))
    if expected == "suicide":
        assert DRUG_HOTLINE not in reply.text


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_messages_do_not_trigger_a_crisis(kb: KnowledgeBase, text: str) -> None:
    assert crisis_of(text) is None
    assert kb.answer(text).crisis is None


@pytest.mark.parametrize("text", ["tôi vừa nuốt hết thuốc trong nhà vì muốn chết",
                                  "I swallowed a whole pack of sleeping pills, I want to die"])
def test_an_overdose_taken_to_die_gets_115_first_then_the_caring_words(
        kb: KnowledgeBase, text: str) -> None:
    answer = kb.answer(text)
    assert (answer.crisis, answer.also) == ("overdose", ("suicide",))
    reply = render(answer).text
    with use_language(answer.lang):
        overdose, suicide = gettext("faq.crisis.overdose"), gettext("faq.crisis.suicide")
    assert reply.startswith(overdose) and suicide in reply and DRUG_HOTLINE not in reply


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_despair_gets_care_a_sourced_line_and_no_crime_hotline(lang: str) -> None:
    with use_language(lang):
        text = gettext("faq.crisis.suicide")
    assert "115" in text and "096 306 1414" in text and "duongdaynongngaymai.vn" in text
    assert DRUG_HOTLINE not in text


def test_despair_is_not_answered_with_an_entry(kb: KnowledgeBase) -> None:
    answer = kb.answer("tôi muốn chết")
    assert answer.entry is None and answer.suggestions == ()
    assert DRUG_HOTLINE not in render(answer).text


@pytest.mark.parametrize(("crisis", "number"), [("overdose", "115"), ("danger", "113")])
def test_each_situation_names_its_number_first(crisis: str, number: str) -> None:
    for lang in ("vi", "en"):
        with use_language(lang):
            text = gettext(f"faq.crisis.{crisis}")
        assert number in text.split(".")[0] and DRUG_HOTLINE not in text


def test_an_overdose_keeps_its_emergency_entry(kb: KnowledgeBase) -> None:
    answer = kb.answer("bạn tôi bị quá liều ma túy, bất tỉnh, phải làm gì")
    assert answer.crisis == "overdose"
    assert answer.entry is not None and answer.entry.topic == "emergency"


# --- off the event loop ---------------------------------------------------------------------

async def test_asking_leaves_the_event_loop_free(kb: KnowledgeBase) -> None:
    # A question the lexical ranker is unsure of, so the embedding runs (tens of milliseconds)
    text = "What is crystal meth?"
    done = threading.Event()
    turns = 0

    async def ask() -> None:
        answer = await kb.ask(text)
        done.set()
        assert answer.embedded and answer == kb.answer(text)

    async def other_chats() -> None:
        nonlocal turns
        while not done.is_set():
            turns += 1
            await asyncio.sleep(0)

    await asyncio.gather(ask(), other_chats())
    # Had the answer been worked out on the loop, the other task would not have run before it
    assert turns > 1


# --- small talk and language ------------------------------------------------------------------

@pytest.mark.parametrize(("text", "talk"), [
    ("cảm ơn", "thanks"), ("cam on nhieu nhe", "thanks"), ("thank you so much", "thanks"),
    ("vâng", "yes"), ("dạ vâng ạ", "yes"), ("ok", "yes"), ("Không.", "no"), ("ko", "no"),
    ("tạm biệt", "bye"), ("bye", "bye"), ("-1", "number"), ("1.5", "number"), ("3", "number"),
    ("hello", "greeting"), ("alo", "greeting"), ("xin chào ad", "greeting"), ("hi", "greeting"),
    ("cho em hỏi về ma túy", "ask"), ("cho minh hoi chut", "ask"), ("can I ask something", "ask"),
])
def test_small_talk_gets_a_short_reply_in_the_persons_language(
        kb: KnowledgeBase, text: str, talk: str) -> None:
    assert smalltalk_of(text) == talk
    answer = kb.answer(text)
    assert (answer.kind, answer.talk, answer.entry, answer.lang) == ("smalltalk", talk, None, "vi")
    reply = render(answer)
    assert reply.text and "faq.talk" not in reply.text
    assert FaqButton("topics").pack() in [option.data for option in reply.options]
    assert kb.answer(text, prefer="en").lang == "en"


@pytest.mark.parametrize("text", [
    "cảm ơn, cai nghiện ở đâu", "cho em hỏi cai nghiện ở đâu", "có", "vâng, ma túy đá là gì",
])
def test_a_question_inside_small_talk_is_a_question(text: str) -> None:
    assert (smalltalk_of(text) is None) == (text != "có")


@pytest.mark.parametrize("text", ["hello", "alo", "ma tuys ddas laf gi", "heroin la gi", "ke",
                                  "sdt hotline c04", "ok"])
def test_ascii_from_a_vietnamese_user_stays_vietnamese(kb: KnowledgeBase, text: str) -> None:
    assert kb.answer(text).lang == "vi"


def test_telex_typed_without_an_input_method_is_read(kb: KnowledgeBase) -> None:
    answer = kb.answer("ma tuys ddas laf gi")
    assert answer.entry is not None and answer.entry.id == "substances-meth"


# --- content rules ----------------------------------------------------------------------------

def test_no_answer_opens_with_a_bare_yes_or_no(kb: KnowledgeBase, tmp_path: Path) -> None:
    import shutil

    root = tmp_path / "kb"
    shutil.copytree(FIXTURES, root)
    path = root / "vi" / "law.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('answer = """', 'answer = """Không. ', 1), encoding="utf-8")
    with pytest.raises(KnowledgeBaseError, match="bare yes or no"):
        KnowledgeBase.load(root)


@pytest.mark.parametrize("entry_id", [
    "help-compulsory", "help-after-positive", "help-costs", "help-record", "help-harm-reduction",
    "law-driving", "law-travel-medicine", "reporting-rewards", "talking-child-helpline",
])
def test_new_topics_exist_in_both_languages(kb: KnowledgeBase, entry_id: str) -> None:
    for lang in ("vi", "en"):
        entry = kb.entry(entry_id, lang)
        assert entry is not None and entry.sources


def test_every_first_reply_fits_a_phone_screen(kb: KnowledgeBase) -> None:
    for lang in ("vi", "en"):
        with use_language(lang):
            for entry in kb.entries(lang):
                text = first_reply_text(entry)
                assert len(text) <= 360, (entry.id, lang, len(text))
                lead, rest = split_answer(entry.answer)
                assert lead in text and entry.answer.startswith(lead.removesuffix(" …"))
                assert len(lead) + len(rest) >= len(entry.answer) - 4


def test_the_more_button_brings_the_rest(kb: KnowledgeBase) -> None:
    reply = render(kb.answer("cai nghiện bắt buộc là gì"))
    more = FaqButton("more", "help-compulsory").pack()
    assert more in [option.data for option in reply.options]
    assert FaqButton.unpack(more) == FaqButton("more", "help-compulsory")
    assert len(reply.text) <= 360


def test_the_shipped_vectors_cover_the_knowledge_base(kb: KnowledgeBase) -> None:
    # A stale file would make every start-up embed the missing phrasings.
    cache = VectorCache.read(LOCALES_DIR / FILE_NAME)
    cache.vectors(kb.embedded_texts())
    assert cache.embedded == 0, "run python -m bot.knowledge"


# --- the embedding's part ---------------------------------------------------------------------

def test_the_embedding_vetoes_and_promotes() -> None:
    t = THRESHOLDS
    sims = Meaning(np.array([0.80, 0.95, 0.70], dtype=np.float32), 0.5)
    # Lexical is sure of entry 0, the embedding finds entry 1 far closer: not entry 0.
    vetoed = decide([(0, t.high + 0.01)], False, lambda: sims, t)
    assert vetoed.embedded and vetoed.kind == "answer" and vetoed.docs[0] == 1
    unsure = decide([(2, 0.3)], False, lambda: sims, t)
    assert (unsure.kind, unsure.docs[0]) == ("answer", 1)
    far = decide([(2, 0.6)], True, lambda: Meaning(np.full(3, t.unrelated - 0.1, np.float32),
                                                   0.5), t)
    assert far.kind == "fallback"
    everyday = decide([(1, t.high + 0.05)], False, lambda: sims._replace(outside=0.96), t)
    assert everyday.kind == "fallback"
    named = decide([(1, t.high + 0.05)], True, lambda: sims._replace(outside=0.96), t)
    assert named.kind == "answer"


def test_a_sure_lexical_answer_is_not_embedded() -> None:
    def refuse() -> Meaning:
        raise AssertionError("embedded")

    found = decide([(0, THRESHOLDS.alone), (1, 0.2)], True, refuse, THRESHOLDS)
    assert (found.kind, found.docs[0], found.embedded) == ("answer", 0, False)


def test_without_vectors_the_knowledge_base_embeds_its_phrasings(tmp_path: Path) -> None:
    kb = KnowledgeBase.load(FIXTURES)
    assert kb.vectors.embedded == len(set(kb.embedded_texts()))
    path = tmp_path / FILE_NAME
    kb.vectors.write(path, kb.embedded_texts())
    again = VectorCache.read(path)
    again.vectors(kb.embedded_texts())
    assert again.embedded == 0


@pytest.mark.parametrize(("text", "expected"), [
    ("What is crystal meth?", "substances-meth"),
    ("cai nghien bat buoc la gi", "help-compulsory"),
    ("which drugs are illegal in vietnam?", "drugs-lists"),
])
def test_plain_questions_find_their_entry(kb: KnowledgeBase, text: str, expected: str) -> None:
    answer = kb.answer(text)
    shown = [e.id for e in ((answer.entry,) if answer.entry else ()) + answer.suggestions]
    assert shown and shown[0] == expected


@pytest.mark.parametrize("text", ["lam can cuoc cong dan o dau", "kẹo dẻo cho trẻ em loại nào tốt",
                                  "số điện thoại cứu hỏa là bao nhiêu"])
def test_everyday_questions_get_no_confident_answer(kb: KnowledgeBase, text: str) -> None:
    assert kb.answer(text).entry is None


def test_long_messages_are_embedded_by_their_end() -> None:
    text = "con tôi " * 40 + "phải làm sao"
    assert tail(text, 60).endswith("phải làm sao") and len(tail(text, 60)) <= 60
    assert tail("ngắn", 60) == "ngắn"


def test_thresholds_can_be_replaced() -> None:
    assert dataclasses.replace(THRESHOLDS, alone=2.0).alone == 2.0
