"""Text analysis for the knowledge base's search: folded words, chat shorthand, stopwords that
know diacritics, light English stemming, and the word pairs that make Vietnamese phrases.

Vietnamese is written in syllables separated by spaces, so a "word" such as "ma túy" is two
tokens; indexing adjacent pairs (bigrams) next to single syllables lets "ma tuy da" prefer the
entry about "ma túy đá" over any entry that merely contains "đá". Everything is matched on the
folded form (``bot.text.fold``) so that accented and unaccented text meet.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import chain, pairwise

from bot.text import tokens

# Question scaffolding that says nothing about the topic. Folding merges many Vietnamese words
# (cỏ/có "co", đá/đã "da", cai/cái "cai", bán/bạn "ban", tù/từ/tử "tu", cần/cân "can"), so only
# words that stay meaningless under every reading are listed.
VI_STOPWORDS = frozenset([
    "a", "ah", "ai", "oi", "ha", "hen", "nhe", "nhi", "vay", "thi", "la", "gi", "nao",
    "the", "nhu", "sao", "lam", "phai", "nen", "duoc", "se", "rat", "hay", "hoac", "cua", "va",
    "voi", "toi", "minh", "em", "tao", "ta", "ra", "roi", "cung", "neu", "khi", "o", "ve", "de",
    "nhung", "cac", "mot", "nay", "day", "kia", "vl", "ak", "khong"
])

# The same scaffolding as typed with diacritics, where folding no longer hides which word it is:
# "có" (has) is scaffolding, "cỏ" (weed) is not; "vì sao" (why) is, "vị thành niên" is not.
VI_STOPWORDS_ACCENTED = frozenset([
    "à", "á", "ạ", "ả", "ơi", "hả", "hén", "nhé", "nhỉ", "vậy", "thì", "là", "gì", "nào",
    "thế", "như", "sao", "làm", "phải", "nên", "được", "sẽ", "rất", "hay", "hoặc", "của", "và",
    "với", "tôi", "mình", "tao", "rồi", "cũng", "nếu", "khi", "ở", "về", "để", "những", "các",
    "một", "này", "đây", "có", "không", "vì", "mà", "ấy", "đó",
])

# A letter that folding changes, except "đ": "đc" is typed shorthand as often as "dc".
_ACCENTED = re.compile(r"[^\x00-\x7fđ]")
_LETTERS = re.compile(r"[^\W_]+")

EN_STOPWORDS = frozenset([
    "a", "an", "the", "is", "are", "was", "were", "be", "been", "being", "am", "do", "does",
    "did", "doing", "i", "me", "my", "mine", "you", "your", "yours", "he", "him", "his", "she",
    "her", "hers", "it", "its", "we", "us", "our", "they", "them", "their", "what", "which",
    "who", "whom", "whose", "this", "that", "these", "those", "to", "of", "in", "on", "at",
    "for", "with", "about", "and", "or", "but", "if", "so", "can", "could", "should", "would",
    "will", "shall", "may", "might", "must", "how", "when", "where", "why", "there", "here",
    "any", "some", "from", "by", "as", "into", "than", "then", "too", "very", "just", "also",
    "not", "no", "yes", "has", "have", "had", "having", "get", "got", "getting", "s", "t", "d",
    "ll", "m", "re", "ve", "im", "dont", "cant"
])

# Chat shorthand of Vietnamese teenagers, folded; expanded before analysis so "ko bit j" meets
# "không biết gì".
TEENCODE: dict[str, tuple[str, ...]] = {
    "ko": ("khong",), "k": ("khong",), "kg": ("khong",), "kh": ("khong",), "hok": ("khong",),
    "hong": ("khong",), "khum": ("khong",), "j": ("gi",), "gj": ("gi",), "dc": ("duoc",),
    "dk": ("duoc",), "vs": ("voi",), "ntn": ("nhu", "the", "nao"), "mik": ("minh",),
    "mk": ("minh",), "mh": ("minh",), "h": ("gio",), "bh": ("bao", "gio"), "r": ("roi",),
    "z": ("vay",), "v": ("vay",), "ng": ("nguoi",), "sdt": ("so", "dien", "thoai"),
    "dt": ("dien", "thoai"), "bit": ("biet",), "bik": ("biet",), "bjo": ("bay", "gio"),
    "cx": ("cung",), "cg": ("cung",), "ms": ("moi",), "trc": ("truoc",), "bme": ("bo", "me"),
    "bm": ("bo", "me"), "ae": ("anh", "em"), "wa": ("qua",), "hum": ("hom",), "dki": ("dang", "ky"),
    "dky": ("dang", "ky"), "nt": ("nhan", "tin"), "ib": ("nhan", "tin"), "ok": (), "oke": (),
    "pcmt": ("phong", "chong", "ma", "tuy"), "vn": ("viet", "nam"), "tp": ("thanh", "pho"),
    "bv": ("benh", "vien"), "xog": ("xong",), "mun": ("muon",),
}

# English words that Vietnamese chat mixes in ("rehab tự nguyện", "test dương tính"), read as
# the Vietnamese words the knowledge base uses; the same reading applies to the entries.
ENGLISH_IN_VI: dict[str, tuple[str, ...]] = {
    "rehab": ("cai", "nghien"), "detox": ("cai", "nghien"), "drug": ("ma", "tuy"),
    "drugs": ("ma", "tuy"), "test": ("xet", "nghiem"), "positive": ("duong", "tinh"),
    "harm": ("tac", "hai"), "reduction": ("giam",), "weed": ("can", "sa"),
    "marijuana": ("can", "sa"), "cannabis": ("can", "sa"), "overdose": ("qua", "lieu"),
    "police": ("cong", "an"), "report": ("to", "giac"), "addict": ("nghien",),
    "addicted": ("nghien",), "addiction": ("nghien",), "ecstasy": ("thuoc", "lac"),
    "dealer": ("nguoi", "ban"), "anonymous": ("nac", "danh"), "illegal": ("trai", "phep"),
}

# One well-formed Vietnamese syllable, folded: optional onset, one to three vowels, optional final
# consonant. A folded token that is not one is a typo or a foreign word.
VI_SYLLABLE = re.compile(
    r"^(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdghklmnprstvx])?[aeiouy]{1,3}(?:ch|ng|nh|[cmnpt])?$")

# "kí"/"ký", "lí"/"lý", "mĩ"/"mỹ" are both correct spellings: fold the final y after a consonant.
_FINAL_Y = re.compile(r"^([bcdghklmnpqrstvx]+)y$")

_DOUBLE = re.compile(r"([bdfgmnprt])\1$")
_VOWEL = re.compile(r"[aeiouy]")


def _en_stem(word: str) -> str:
    """Light suffix stripping so that "overdosed"/"overdose" and "using"/"use" meet.

    Only the same function runs on entries and questions, so a stem need not be a real word.
    """
    if len(word) <= 2:
        return word
    if word.endswith(("ies", "ied")) and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("sses"):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix in ("ing", "ed", "ly", "ion"):
        stem = word[: -len(suffix)]
        # "weed", "need", "speed" are not past tenses.
        if suffix == "ed" and word.endswith("eed"):
            break
        # "only" is not "on" + "ly": a stem of two letters is too short to be a word's root.
        if word.endswith(suffix) and len(stem) >= (3 if suffix == "ly" else 2) \
                and _VOWEL.search(stem):
            if suffix != "ion" or stem.endswith(("t", "s")):
                word = _DOUBLE.sub(r"\1", stem)
            break
    return word[:-1] if word.endswith("e") and len(word) >= 3 else word


_TELEX_TONE = frozenset("sfrxj")
_TELEX_VOWELS = (("aa", "a"), ("aw", "a"), ("ee", "e"), ("oo", "o"), ("ow", "o"), ("uw", "u"))


def untelex(token: str) -> str:
    """``token`` read as Telex typed without an input method ("tuys" for "tuý", "ddas" for
    "đá"), folded; unchanged unless that reading is a Vietnamese syllable and the token is not.
    """
    if VI_SYLLABLE.match(token) or len(token) < 2:
        return token
    word = token[1:] if token.startswith("dd") else token
    if word[-1] in _TELEX_TONE:
        word = word[:-1]
    for telex, vowel in _TELEX_VOWELS:
        word = word.replace(telex, vowel)
    return word if word != token and VI_SYLLABLE.match(word) else token


_REPEATED = re.compile(r"(\w)\1+$")
# No Vietnamese syllable ends in "ii" or "yy" ("ưu" does end in "uu", once folded).
_STRETCHED = re.compile(r"([iy])\1+$")


def unslur(token: str) -> str:
    """``token`` as chat spells a syllable, respelled, folded: "fải" is "phải", "trắg"
    "trắng", "nhiii" "nhi", "wá" "quá"; unchanged unless that reading is a Vietnamese syllable
    and the token is not."""
    token = _STRETCHED.sub(r"\1", token)
    if VI_SYLLABLE.match(token) or len(token) < 2:
        return token
    for reading in (_REPEATED.sub(r"\1", token), f"ph{token[1:]}" if token[0] == "f" else "",
                    f"qu{token[1:]}" if token[0] == "w" else "",
                    f"{token[:-1]}ng" if token.endswith("g") and not token.endswith("ng")
                    else ""):
        if reading and VI_SYLLABLE.match(reading):
            return reading
    return token


def _normalise(token: str, typed: str, lang: str) -> tuple[str, ...]:
    """Index words of one folded ``token``; ``typed`` is how it was written (lower case).

    A word typed with its diacritics says which word it is: "não" (brain) is not the stopword
    "nào", "hồng" (pink) is not the shorthand "hong" (không). Only words typed without them are
    read as shorthand or checked against the folded stopwords.
    """
    if lang != "vi":
        return () if token in EN_STOPWORDS else (_en_stem(token),)
    if _ACCENTED.search(typed):
        return () if typed in VI_STOPWORDS_ACCENTED else (_FINAL_Y.sub(r"\1i", unslur(token)),)
    return tuple(word for word in (_FINAL_Y.sub(r"\1i", w)
                                   for w in TEENCODE.get(token, ENGLISH_IN_VI.get(
                                       token, (unslur(untelex(token)),))))
                 if word not in VI_STOPWORDS)


def _analyse(piece: str, lang: str) -> tuple[str, ...]:
    return tuple(word for typed in _LETTERS.findall(piece) for token in tokens(typed)
                 for word in _normalise(token, typed, lang))


_CACHE_LIMIT = 50_000
_analysed: dict[str, dict[str, tuple[str, ...]]] = {"vi": {}, "en": {}}


def words(text: str, lang: str) -> list[str]:
    """Content words of ``text`` in ``lang``: folded, shorthand expanded, stopwords dropped."""
    cache = _analysed[lang]
    # Whitespace is only a fast first cut: each piece, punctuation and all, goes through
    # ``tokens`` (``fold``) once and is remembered.
    raws = text.lower().split()
    found = list(map(cache.get, raws))
    if None in found:
        for position, raw in enumerate(raws):
            if found[position] is None:
                analysed = _analyse(raw, lang)
                found[position] = analysed
                # Entries and everyday words fill the cache first; beyond the limit, odd words
                # typed once are analysed each time rather than kept forever.
                if len(cache) < _CACHE_LIMIT:
                    cache[raw] = analysed
    return list(chain.from_iterable(found))  # type: ignore[arg-type]


def terms(sequence: Sequence[str]) -> list[str]:
    """Unigrams and adjacent bigrams of an analysed word sequence."""
    return [*sequence, *map("_".join, pairwise(sequence))]
