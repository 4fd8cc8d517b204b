"""Which language a question is written in, Vietnamese typed with or without diacritics, or
English.

Plain ASCII is not English: many Vietnamese type without diacritics ("ma tuy da la gi"), some
in Telex left unconverted ("ma tuys ddas laf gi"), and "hello", "alo", "ok" are Vietnamese chat
too. So text without Vietnamese letters is taken as English only on clear English evidence, and
otherwise stays in the person's own language.
"""

from __future__ import annotations

import unicodedata

from bot.knowledge._analysis import EN_STOPWORDS, TEENCODE, VI_STOPWORDS, VI_SYLLABLE, untelex
from bot.text import tokens

_VI_LETTERS = frozenset("ăâđêôơưàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ")
_VI_MARKERS = VI_STOPWORDS | frozenset(TEENCODE) | frozenset([
    "ma", "tuy", "nghien", "cai", "khong", "co", "bi", "bao", "nhieu", "phat", "nguoi", "con",
    "bo", "me", "ban", "thuoc", "hut", "choi", "dung", "sau", "cong", "an", "xa", "tu", "giac",
    "duong", "day", "nong", "lieu", "sao", "gio", "nhau", "biet", "muon", "hoi", "chuyen",
    "nha", "trai", "dau", "alo", "oi", "ke", "heroin", "ketamin", "methadone"
])
_EN_MARKERS = EN_STOPWORDS | frozenset([
    "drug", "drugs", "meth", "weed", "rehab", "help", "report", "police", "law", "fine",
    "friend", "child", "son", "daughter"
])
# Unless the person already speaks English with the bot, English needs at least two English
# words and a clear lead over the Vietnamese ones.
_CLEAR_ENGLISH = 2
_LEAD = 1.3


def has_vietnamese_letters(text: str) -> bool:
    return any(ch in _VI_LETTERS for ch in unicodedata.normalize("NFC", text.lower()))


def detect_language(text: str, prefer: str = "vi") -> str:
    """``"vi"`` or ``"en"``: Vietnamese letters decide at once, otherwise the words vote, and
    a close or empty vote keeps ``prefer`` (the person's language)."""
    if has_vietnamese_letters(text):
        return "vi"
    vi = en = 0.0
    for token in tokens(text):
        if any(ch.isdigit() for ch in token):  # "c04", "113": no language
            continue
        in_vi, in_en = token in _VI_MARKERS, token in _EN_MARKERS
        if in_vi and not in_en:
            vi += 1
        elif in_en and not in_vi:
            en += 1
        elif not (in_vi or in_en):
            if VI_SYLLABLE.match(token):
                vi += 0.5
            elif untelex(token) != token:  # "tuys" (Telex), though "bus" reads the same way
                vi += 0.25
            else:
                en += 1
    if prefer == "en":
        return "vi" if vi > en else "en"
    return "en" if en >= _CLEAR_ENGLISH and en > _LEAD * vi else "vi"
