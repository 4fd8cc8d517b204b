"""Words of danger: a message saying someone may be hurt now gets the fitting safety message
before anything else.

Three situations need different first words: someone who wants to die needs caring words and a
mental-health line, never the drug-crime hotline; an overdose or poisoning happening now needs
115; a threat or violence needs 113. Caution wins over precision: a needless safety line costs
one sentence, a missed one can cost a life. Overdose and threat words also appear in questions
about them ("dấu hiệu quá liều là gì"), which the emergency entries answer; those are told
apart by how they are asked (signs, "what if") unless they also speak of someone now.
"""

from __future__ import annotations

import re
from typing import Literal

from bot.knowledge._analysis import TEENCODE
from bot.text import fold

Crisis = Literal["suicide", "overdose", "danger"]


def _phrases(block: str) -> tuple[str, ...]:
    return tuple(f" {phrase.strip()} " for phrase in block.replace("\n", "").split("|")
                 if phrase.strip())


# Folded, after chat shorthand is expanded ("ko muon song" reads "khong muon song").
_SUICIDE = _phrases("""
muon chet|muon tu tu|tu sat|ket lieu|khong muon song|chan song|het muon song|khong thiet song
|song lam gi nua|song de lam gi|chet cho xong|chet quach|chet di cho roi|muon bien mat mai mai
|tu lam hai ban than|lam hai ban than|tu hai ban than|rach tay|cat co tay|nhay lau|nhay cau
|treo co|uong thuoc tru sau|uong thuoc chuot|khong con ly do de song|ngu mai khong day
|tu tu|muon die|muon ra di mai mai|khong muon ton tai|tu van menh
|kill myself|killing myself|suicide|suicidal|end my life|end it all|want to die|wanna die
|wish i was dead|wish i were dead|better off dead|self harm|hurt myself|cut myself
|don t want to live|dont want to live|no reason to live|take my own life|not worth living
""")
_OVERDOSE = _phrases("""
qua lieu|soc thuoc|soc ma tuy|ngo doc|trung doc|bat tinh|ngat xiu|bi ngat|bi xiu|ngat roi
|xiu roi|goi khong tinh|goi khong day|lay khong day|ngung tho|khong tho duoc|tho khong noi
|kho tho|tho yeu|tho kho khe|sui bot mep|co giat|ngat tho|tim dap nhanh|tim dap loan|dau nguc
|uong ca vi|nuot ca vi|uong het ca vi|uong ca lo|nuot ca lo|uong het ca lo|uong ca hop
|uong nhieu thuoc ngu|nuot nhieu thuoc|dung qua nhieu|choi qua nhieu
|overdose|overdosed|overdosing|od|od d|took too much|taken too much|too many pills
|poisoned|poisoning|not breathing|stopped breathing|can t breathe|cant breathe
|barely breathing|unconscious|unresponsive|passed out|won t wake up|wont wake up|collapsed
|seizure|seizures|convulsing|blue lips|heart is racing|heart racing|chest pain|foaming
""")
_DANGER = _phrases("""
cam dao|hung khi|doa giet|doi giet|se giet|giet toi|giet em|giet minh|dam chem|danh nhau
|hanh hung|bao hanh|de doa|doa danh|doa xu|bat coc|no sung|co sung|chia sung|xong vao nha
|dang bi danh|danh toi|danh em|bi danh dap|dang bi theo doi|bi truy sat|doi no xa hoi den
|knife|threatening|threatened|violent|kidnapped|gun|beating me|attacking me|attacked me
|going to kill me|gonna kill me|hit me|following me|hurt me|break in|breaking in
""")
# Phrases whose folded form is also a harmless word ("tu van" is "tư vấn", counselling; "moi
# tim" is "mới tìm", just found; "tu tu" is "từ từ", slowly): with diacritics typed, only the
# accented spelling counts; "tu tu" typed plainly is taken as the dangerous reading.
_SPELLED: dict[str, Crisis] = {
    " tự tử ": "suicide", " tự vẫn ": "suicide", " tự hại ": "suicide", " tự sát ": "suicide",
    " ngất ": "overdose", " xỉu ": "overdose", " hôn mê ": "overdose", " tím tái ": "overdose",
    " môi tím ": "overdose", " ngạt ": "overdose",
}
_PLAIN_ONLY = (" tu tu ",)
# Everyday idioms that contain a danger phrase ("mệt muốn chết": tired to death).
_HARMLESS = _phrases("""
met muon chet|doi muon chet|nong muon chet|lanh muon chet|cuoi muon chet|chet cuoi|so muon chet
|dep muon chet|ngon muon chet|buon ngu muon chet|chan muon chet|thich muon chet
|tu tu thoi|cu tu tu|tu tu nhe|tu tu da|tu tu ma|killing time|dressed to kill|kill time
|gun shy|od ta|od tren|thoi tiet kho tho
""")
# How a question about an emergency is asked, as opposed to one happening: "signs of", "if".
_GENERIC = _phrases("""
dau hieu|trieu chung|bieu hien|la gi|la sao|the nao la|nhan biet|nhu the nao la|neu|gia su
|phong tranh|phong ngua|tranh bi|cach xu ly|tai sao|vi sao|co the gay|co gay|nguy co|bao lau
|signs|symptoms|what is|what are|if someone|if a|if i|if you|what to do if|what should i do if
|how do i know|how can i tell|how to tell|how to recognise|how to recognize|why|can cause
|risk of|prevent|avoid
""")
# Someone, now: a generic wording next to these is still a message about a real person.
_NOW = _phrases("""
ban toi|ban minh|ban em|ban tao|nguoi yeu|chong toi|vo toi|con toi|em toi|anh toi|chi toi
|bo toi|me toi|no dang|no bi|anh ay|co ay|thang ban|dang bi|vua moi|vua|ngay bay gio|luc nay
|toi dang|toi bi|toi vua|tao vua|tao dang|em dang|em vua|minh dang|minh vua|cuu voi|giup voi
|gap lam|my friend|my brother|my sister|my son|my daughter|my boyfriend|my girlfriend
|my husband|my wife|he is|she is|he s|she s|i took|i just|i m|right now|help me|please help
""")
_PRIORITY: tuple[Crisis, ...] = ("overdose", "danger", "suicide")
_WORD = re.compile(r"[\W_]+")
_VI_LETTER = re.compile(r"[^\x00-\x7f]")


def _expand(folded: str) -> str:
    words = [w for token in folded.split() for w in TEENCODE.get(token, (token,))]
    return f" {' '.join(words)} "


def _has(text: str, phrases: tuple[str, ...]) -> bool:
    return any(phrase in text for phrase in phrases)


def crisis_of(text: str) -> Crisis | None:
    """The situation ``text`` describes if someone may be in danger now, else None.

    An overdose happening now comes first (115 is the first number to call, even when the
    person took the pills to die), then a threat, then the wish to die.
    """
    accented = _VI_LETTER.search(text) is not None
    lowered = f" {_WORD.sub(' ', text.lower()).strip()} "
    folded = _expand(fold(text))
    for phrase in _HARMLESS:
        folded = folded.replace(phrase, " ")
    kinds = {kind for spelled, kind in _SPELLED.items() if spelled in lowered}
    if accented:
        for phrase in _PLAIN_ONLY:
            folded = folded.replace(phrase, " ")
    if _has(folded, _SUICIDE):
        kinds.add("suicide")
    about_now = _has(folded, _NOW) or not _has(folded, _GENERIC)
    if about_now and _has(folded, _OVERDOSE):
        kinds.add("overdose")
    if about_now and _has(folded, _DANGER):
        kinds.add("danger")
    return next((kind for kind in _PRIORITY if kind in kinds), None)
