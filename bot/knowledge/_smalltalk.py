"""Messages that are conversation, not questions: greetings, thanks, goodbyes, a bare yes or no,
a number typed outside any menu, "cho em hỏi về ma túy". Each gets a short friendly reply (or
the topic menu) instead of whichever entry happens to share a word with it.

A message is small talk only when nothing but such words is in it: "cảm ơn, cai nghiện ở đâu"
is a question.
"""

from __future__ import annotations

import re
from typing import Literal

from bot.text import fold

Talk = Literal["greeting", "thanks", "bye", "yes", "no", "number", "ask"]

_NUMBER = re.compile(r"^[-+]?\d+(?:[.,]\d+)*%?$")


def _set(block: str) -> frozenset[str]:
    return frozenset(p.strip() for p in block.replace("\n", "").split("|") if p.strip())


_PHRASES: dict[Talk, frozenset[str]] = {
    "greeting": _set("""
xin chao|chao|hello|helo|hallo|hi|hey|alo|a lo|ê|e|he lo|good morning|good afternoon
|good evening|chao buoi sang|chao buoi toi|co ai khong|co ai o day khong|anyone there|yo|hii
"""),
    "thanks": _set("""
cam on|cam on nhieu|cam on rat nhieu|cam on nhe|cam on nha|thanks|thank you|thank u|thx|tks
|ty|thank|many thanks|thanks a lot|cảm ơn|cam on ban nhieu|ok cam on|oke cam on|cam on nhiu|camon
"""),
    "bye": _set("""
tam biet|bye|bai|bye bye|goodbye|good bye|see you|hen gap lai|pp|bb|bai bai|chao tam biet
|good night|chuc ngu ngon
"""),
    "yes": _set("""
vang|da|co|u|uh|uhm|um|ok|oke|okay|okie|yes|yeah|yep|yup|sure|duoc|dc|roi|dung|da vang
|vang a|co a|dung roi|ok roi|uk|uhm uhm|oki
"""),
    "no": _set("""
khong|ko|k|kh|hong|hok|khum|no|nope|nah|thoi|khong can|ko can|khong a|thoi khong|no thanks
|chua|khong co|ko co
"""),
}
# Words that add nothing to small talk: politeness, whom it is said to.
_FILLER = _set("""
a|ạ|nhe|nha|nhé|oi|ban|bot|ad|admin|em|anh|chi|minh|shop|moi nguoi|ca nha|nhieu|lam|qua
|you|there|so|much|very|again|everyone|all|ne
""")
_ASK = _set("""
cho em hoi|cho minh hoi|cho toi hoi|cho tui hoi|cho hoi|em muon hoi|toi muon hoi|minh muon hoi
|em hoi|hoi chut|toi co cau hoi|em co cau hoi|can tu van|muon tu van|i have a question
|can i ask|i want to ask|i d like to ask|may i ask|question
""")
# What may follow "cho em hỏi" without making it a question of its own.
_ASK_TAIL = _set("""
ve|ma|tuy|chut|xiu|ti|cai|nay|mot|cau|voi|duoc|khong|ko|k|van|de|thong|tin|phong|chong
|about|drugs|drug|something|a|question|some|questions|with|you|ban|minh|duoc khong|nhe|a
|cac|chat|gay|nghien|khong a
""")
_MAX_WORDS = 8


def _without(words: list[str], drop: frozenset[str]) -> list[str]:
    return [word for word in words if word not in drop]


def smalltalk_of(text: str) -> Talk | None:
    """What kind of small talk ``text`` is, or None when it asks something."""
    stripped = text.strip().strip("?!.… ")
    if _NUMBER.match(stripped.replace(" ", "")):
        return "number"
    words = fold(text).split()
    if not words or len(words) > _MAX_WORDS:
        return None
    content = _without(words, _FILLER)
    phrase = " ".join(content)
    for talk, phrases in _PHRASES.items():
        if phrase in phrases or (content and all(w in phrases for w in content)
                                 and talk in ("yes", "no", "greeting")):
            return talk
    for start in range(len(words)):
        for end in range(len(words), start, -1):
            if " ".join(words[start:end]) in _ASK:
                rest = _without(words[:start] + words[end:], _FILLER | _ASK_TAIL)
                return "ask" if not rest else None
    return None
