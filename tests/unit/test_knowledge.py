"""FAQ retrieval: loading and checking the knowledge base, ranking, confidence, safety and
bad input."""

from __future__ import annotations

import dataclasses
import shutil
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.errors import KnowledgeBaseError
from bot.knowledge import (
    THRESHOLDS,
    Answer,
    KnowledgeBase,
    crisis_of,
    detect_language,
)
from bot.knowledge._analysis import words

FIXTURES = Path(__file__).parent / "fixtures" / "faq"
EVAL_DIR = Path(__file__).resolve().parents[2] / "bench" / "data" / "faq_eval"


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load(FIXTURES)


@pytest.fixture(scope="module")
def real_kb() -> KnowledgeBase:
    return KnowledgeBase.load()


def _answered(answer: Answer) -> str | None:
    return answer.entry.id if answer.entry is not None else None


# --- loading ----------------------------------------------------------------------------------


def test_fixture_loads_both_languages(kb: KnowledgeBase) -> None:
    assert [t.id for t in kb.topics("vi")] == ["substances", "emergency", "law"]
    assert kb.topics("en")[0].title == "Drugs"
    assert [e.id for e in kb.entries("vi")] == [e.id for e in kb.entries("en")]
    meth = kb.entry("substances-meth", "en")
    assert meth is not None and meth.lang == "en" and meth.topic == "substances"
    assert "meth" in meth.keywords and meth.reviewed.year == 2026
    assert kb.entry("substances-meth", "vi") != meth
    assert kb.entry("nothing-here", "vi") is None


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "kb"
    shutil.copytree(FIXTURES, root)
    return root


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize(("file", "old", "new", "message"), [
    ("vi/law.toml", 'id = "law-ecig"', 'id = "law-fine-use"', "law-fine-use"),
    ("vi/law.toml", 'id = "law-ecig"', 'id = "substances-ecig"', "must start with the topic"),
    ("en/law.toml", 'id = "law-ecig"', 'id = "law-vape"', "law-ecig"),
    ("vi/law.toml", 'sources = ["Nghị định 144/2021/NĐ-CP"]\n', "", "missing sources"),
    ("vi/law.toml", "reviewed = 2026-11-20", 'reviewed = "soon"', "reviewed must be a date"),
    ("vi/law.toml", 'keywords = ["phạt tiền"', 'keyword = ["phạt tiền"', "unknown field keyword"),
    ("vi/law.toml", "questions = [\n  \"Sử dụng", "questions = [\n  \"\",\n  \"Sử dụng",
     "questions must be a list of non-empty strings"),
    ("vi/law.toml", 'topic = "law"', 'topic = "laws"', "topic must be 'law'"),
    ("en/emergency.toml", '[[entry]]', '[[entry', "cannot read"),
])
def test_invalid_files_are_named(tmp_path: Path, file: str, old: str, new: str,
                                 message: str) -> None:
    root = _copy(tmp_path)
    _edit(root / file, old, new)
    with pytest.raises(KnowledgeBaseError, match=message) as caught:
        KnowledgeBase.load(root)
    assert Path(file).name in str(caught.value) or "missing in one language" in str(caught.value)


def test_answer_longer_than_900_characters_is_refused(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    _edit(root / "en/law.toml", 'answer = """Illegal drug use', 'answer = """' + "x" * 900 + " ")
    with pytest.raises(KnowledgeBaseError, match=r"law\.toml, entry 'law-fine-use'.*900"):
        KnowledgeBase.load(root)


def test_topic_file_missing_in_one_language(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    (root / "en" / "law.toml").unlink()
    with pytest.raises(KnowledgeBaseError, match=r"law\.toml"):
        KnowledgeBase.load(root)


def test_entry_order_must_match_between_languages(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    path = root / "en" / "law.toml"
    head, first, second = path.read_text(encoding="utf-8").split("[[entry]]")
    path.write_text("[[entry]]".join([head, second, first]), encoding="utf-8")
    with pytest.raises(KnowledgeBaseError, match=r"en.law\.toml.*ids or order"):
        KnowledgeBase.load(root)


def test_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeBaseError, match="no knowledge-base files"):
        KnowledgeBase.load(tmp_path)


def test_domain_must_be_a_list_of_strings(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    path = root / "vi" / "substances.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('domain = ["ma túy"]', 'domain = "ma túy"'), encoding="utf-8")
    with pytest.raises(KnowledgeBaseError, match=r"substances\.toml: domain must be a list"):
        KnowledgeBase.load(root)


# --- answering --------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "ma tuy da la gi", "Ma túy đá là gì?", "MA TÚY ĐÁ LÀ GÌ", "ma tuý đá là j", "hàng đá là sao",
])
def test_accents_case_and_shorthand_meet(kb: KnowledgeBase, text: str) -> None:
    answer = kb.answer(text)
    assert (answer.kind, answer.lang, _answered(answer)) == ("answer", "vi", "substances-meth")
    assert answer.score >= THRESHOLDS.high and not answer.safety


@pytest.mark.parametrize(("text", "expected"), [
    ("what is crystal meth", "substances-meth"),
    ("Is weed a drug in Vietnam?", "substances-cannabis"),
    ("how much is the fine for using drugs", "law-fine-use"),
    ("are vapes banned", "law-ecig"),
])
def test_english_question_gets_english_answer(kb: KnowledgeBase, text: str,
                                              expected: str) -> None:
    answer = kb.answer(text)
    assert (answer.kind, answer.lang, _answered(answer)) == ("answer", "en", expected)
    assert answer.entry is not None and answer.entry.lang == "en"


def test_explicit_language_wins(kb: KnowledgeBase) -> None:
    answer = kb.answer("ma tuy da la gi", lang="en")
    assert answer.lang == "en" and answer.entry is not None
    assert (answer.entry.id, answer.entry.lang) == ("substances-meth", "en")
    with pytest.raises(ValueError, match="unknown language"):
        kb.answer("ma tuy", lang="fr")


@pytest.mark.parametrize(("text", "expected"), [
    ("thuoc la dien tuu co bi cam ko", "law-ecig"),  # typo
    ("methamphetamin la gi", "substances-meth"),
])
def test_typos(kb: KnowledgeBase, text: str, expected: str) -> None:
    answer = kb.answer(text)
    assert _answered(answer) == expected or expected in [e.id for e in answer.suggestions]


@pytest.mark.parametrize("text", [
    "thời tiết Hà Nội ngày mai thế nào", "ket qua bong da hom qua", "mua điện thoại ở đâu rẻ",
    "what's the weather in Da Nang", "recipe for banh mi", "how to install Windows 11",
])
def test_out_of_scope_gets_the_fallback(kb: KnowledgeBase, text: str) -> None:
    answer = kb.answer(text)
    assert (answer.kind, answer.entry, answer.suggestions) == ("fallback", None, ())
    assert answer.score < THRESHOLDS.low


def test_vague_question_gets_distinct_suggestions(real_kb: KnowledgeBase) -> None:
    answer = real_kb.answer("phạt")  # which fine: for using, for vaping?
    assert answer.kind == "suggest" and answer.entry is None
    ids = [e.id for e in answer.suggestions]
    assert 2 <= len(ids) <= 3 and len(set(ids)) == len(ids)
    assert {"law-fine-use", "law-ecig"} <= set(ids) and THRESHOLDS.low <= answer.score


@pytest.mark.parametrize(("text", "expected"), [
    ("only", ["only"]), ("early", ["ear"]), ("overdosed", ["overdos"]), ("weed", ["weed"]),
])
def test_english_stems_keep_short_roots(text: str, expected: list[str]) -> None:
    # "only" must not become "on", which is a different word (and a stopword's spelling)
    assert words(text, "en") == expected


# Nothing is answered outright and only a question naming a domain term clears the bar.
_DOMAIN_ONLY = dataclasses.replace(THRESHOLDS, alone=1.01, high=1.01, low=1.01, margin=0.0,
                                   low_in_domain=0.0, promote=2.0, related=2.0, unrelated=0.0,
                                   agree_low=2.0)


@pytest.mark.parametrize("text", ["ma túy đá là gì", "ma tuy da la gi", "ma tuý đá là j"])
def test_a_domain_term_brings_did_you_mean_where_others_get_the_fallback(
        kb: KnowledgeBase, text: str) -> None:
    named = kb.answer(text, thresholds=_DOMAIN_ONLY)
    assert named.kind == "suggest" and named.suggestions[0].id == "substances-meth"
    # The same entry matched without naming "ma túy": below the bar for other questions.
    unnamed = kb.answer("hàng đá là cái gì vậy", thresholds=_DOMAIN_ONLY)
    assert (unnamed.kind, unnamed.suggestions) == ("fallback", ())


@pytest.mark.parametrize("text", [
    "đá bóng ở đâu gần nhà", "kẹo dẻo mua ở đâu ngon", "cai sữa cho bé mấy tháng",
    "cỏ nhân tạo giá bao nhiêu", "trà sữa ngon ở quận 1", "uống thuốc cảm mấy viên",
    "bay Hà Nội Đà Nẵng mấy tiếng", "công an xã làm căn cước", "how high is Fansipan",
    "how to report a lost phone", "where can I buy a vacuum",
])
def test_everyday_words_do_not_name_the_domain(real_kb: KnowledgeBase, text: str) -> None:
    assert real_kb.rank(text, detect_language(text))[1] is False


def test_suggestions_never_repeat_the_answer(kb: KnowledgeBase) -> None:
    answer = kb.answer("cần sa là gì")
    assert answer.entry is not None
    assert answer.entry not in answer.suggestions
    assert answer.suggestions and all(e.lang == "vi" for e in answer.suggestions)


# --- safety -----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "tôi muốn chết", "toi muon tu tu", "em không muốn sống nữa", "bạn tôi quá liều",
    "ban toi bi soc thuoc", "nó bất tỉnh rồi", "nguoi yeu co giat sau khi choi",
    "anh ấy ngáo đá cầm dao", "bạn tôi ngất xỉu", "I want to kill myself",
    "my friend overdosed", "he is not breathing", "she passed out after taking pills",
    "Bạn tôi tự tử", "con tôi bị ngộ độc",
])
def test_danger_is_flagged(kb: KnowledgeBase, text: str) -> None:
    assert crisis_of(text) is not None
    answer = kb.answer(text)
    assert answer.safety and answer.kind == "safety"


@pytest.mark.parametrize("text", [
    "chết cười với nó", "mệt muốn chết", "từ từ thôi", "cứ từ từ", "tư vấn cai nghiện ở đâu",
    "ma túy đá là gì", "hoa thơm ngát", "mới tìm được việc", "giỏi hơn mẹ",
    "what is crystal meth", "how to treat a headache", "killing time at the airport",
    "lây lan ra cả xóm", "bố mẹ không dạy con",
])
def test_everyday_phrases_are_not_danger(text: str) -> None:
    assert crisis_of(text) is None


def test_safety_keeps_a_confident_entry(kb: KnowledgeBase) -> None:
    answer = kb.answer("bạn tôi bị quá liều ma túy, bất tỉnh, phải làm gì")
    assert answer.safety and answer.kind == "safety"
    assert _answered(answer) == "emergency-overdose"


def test_safety_without_any_match(kb: KnowledgeBase) -> None:
    answer = kb.answer("tôi muốn chết")
    assert answer.safety and answer.kind == "safety" and answer.entry is None


# --- language ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "lang"), [
    ("ma tuy la gi", "vi"), ("Ma túy là gì", "vi"), ("what is meth", "en"),
    ("meth la gi", "vi"), ("hut vape co bi phat ko", "vi"), ("is vaping illegal", "en"),
    ("bus from Hanoi to Ha Long Bay", "en"), ("co nguoi ban ma tuy o dau", "vi"),
    ("", "vi"), ("😀", "vi"), ("how do I report drug dealing", "en"),
])
def test_detect_language(text: str, lang: str) -> None:
    assert detect_language(text) == lang


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "", "   ", "😀😀😀", "?!?", "<b>ma túy</b> <script>alert(1)</script>",
    "**ma tuy** _da_ `la` gi",
    "ma\x00tuy\x07 da\x1b[31m la gi", "ma túy đá what is it", "a" * 10_000,
    "ma tuy da la gi " * 700, "\u200b\u200b", "ﾏ ﾄｩ", "ǅ ß ﬁ İ", "١٢٣ ٤٥٦", "\ud7ff\ue000",
])
def test_bad_input_never_raises(kb: KnowledgeBase, text: str) -> None:
    answer = kb.answer(text)
    assert answer.kind in ("safety", "answer", "suggest", "fallback", "smalltalk")
    assert answer.lang in ("vi", "en") and 0.0 <= answer.score <= 1.0


def test_html_around_a_real_question(kb: KnowledgeBase) -> None:
    assert _answered(kb.answer("<b>Ma túy đá</b> là gì?")) == "substances-meth"


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=300))
def test_any_text_gets_an_answer(kb: KnowledgeBase, text: str) -> None:
    answer = kb.answer(text)
    assert answer.kind in ("safety", "answer", "suggest", "fallback", "smalltalk")
    assert 0.0 <= answer.score <= 1.0
    assert answer.entry is None or answer.kind in ("answer", "safety")
    assert len(answer.suggestions) <= 3


# --- the real knowledge base ------------------------------------------------------------------


def test_real_kb_loads_with_every_entry_in_both_languages(real_kb: KnowledgeBase) -> None:
    vi, en = real_kb.entries("vi"), real_kb.entries("en")
    assert len(vi) >= 70 and [e.id for e in vi] == [e.id for e in en]
    assert [t.id for t in real_kb.topics("vi")] == [t.id for t in real_kb.topics("en")]
    for entry in vi:
        assert len(entry.questions) >= 4, entry.id
    for entry in en:
        assert len(entry.questions) >= 3, entry.id


def test_real_kb_accents_do_not_matter(real_kb: KnowledgeBase) -> None:
    plain, accented = real_kb.answer("ma tuy da la gi"), real_kb.answer("Ma túy đá là gì")
    assert plain.entry is not None and _answered(plain) == _answered(accented)
    assert plain.lang == accented.lang == "vi"


def test_real_kb_english_question_in_english(real_kb: KnowledgeBase) -> None:
    answer = real_kb.answer("how can I report drug dealing in my neighbourhood?")
    assert answer.lang == "en" and answer.entry is not None and answer.entry.lang == "en"
    assert answer.entry.topic == "reporting"


def test_real_kb_a_wrong_letter_that_folds_to_another_word(real_kb: KnowledgeBase) -> None:
    # "xa" is a word of its own (xã, commune), so typo correction cannot reach "sa"
    assert _answered(real_kb.answer("cần xa là gì")) == "substances-cannabis"


def test_evaluation_set_is_large_enough() -> None:
    kinds: list[str] = []
    for path in sorted(EVAL_DIR.glob("*.toml")):
        with path.open("rb") as handle:
            kinds.extend(query["kind"] for query in tomllib.load(handle).get("query", []))
    assert len(kinds) >= 250 and kinds.count("out_of_scope") >= 40
    assert {"accented", "unaccented", "typo", "slang", "english"} <= set(kinds)


def test_evaluation_set_names_real_entries(real_kb: KnowledgeBase) -> None:
    known = {e.id for e in real_kb.entries("vi")}
    for path in sorted(EVAL_DIR.glob("*.toml")):
        with path.open("rb") as handle:
            for query in tomllib.load(handle).get("query", []):
                assert query["expect"] in known or query["expect"] in {
                    "", "none", "smalltalk", "crisis-suicide", "crisis-overdose",
                    "crisis-danger"}, (path.name, query)
                assert query["lang"] in ("vi", "en")


@pytest.mark.parametrize(("text", "expected"), [
    ("bóg cười có fải ma túy ko", ["bong", "cuoi", "phai", "ma", "tuy"]),
    ("hàng trắg", ["hang", "trang"]), ("ma tuyy đá", ["ma", "tuy", "da"]),
    ("wá nhiều", ["qua", "nhieu"]), ("ưu tiên", ["uu", "tien"]),
    ("rehab tự nguyện", ["cai", "nghien", "tu", "nguyen"]),
    ("drug test dương tính", ["ma", "tuy", "xet", "nghiem", "duong", "tinh"]),
])
def test_chat_spellings_and_mixed_english_read_as_the_vietnamese_words(
        text: str, expected: list[str]) -> None:
    assert words(text, "vi") == expected


def test_english_words_stay_english_in_english(real_kb: KnowledgeBase) -> None:
    assert words("drug test", "en") == ["drug", "test"]
    answer = real_kb.answer("harm reduction là gì")
    assert (answer.entry or answer.suggestions[0]).id == "help-harm-reduction"
