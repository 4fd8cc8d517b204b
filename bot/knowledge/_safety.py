"""Words of danger: a message saying someone may be hurt now gets the fitting safety message
before anything else.

Three situations need different first words: someone who wants to die needs caring words and a
mental-health line, never the drug-crime hotline; an overdose or poisoning happening now needs
115; a threat or violence needs 113. Caution wins over precision: a needless safety line costs
one sentence, a missed one can cost a life.

Phrases come in two strengths. A *statement* ("tôi muốn chết", "took too much", "dọa giết tôi")
is about someone now, whatever else the message says. A *topic* word ("tự tử", "quá liều",
"đe dọa") also appears in questions about it ("tỷ lệ tự tử", "quá liều heroin có chết không"),
which the knowledge base answers: a topic word counts unless the message is asked as a general
question and names nobody real (for self-harm, any "I" or "me" names someone).

Matching is on the folded text after chat shorthand is expanded ("ko muon song" reads "khong
muon song"), so that unaccented typing is caught. Folding also merges harmless words ("dành"
with "đánh", "từ từ" with "tự tử", "cute xỉu" with fainting): those are taken out first, with
their diacritics when typed with them, and so are idioms ("mệt muốn chết", tired to death).
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


_SUICIDE_STATEMENT = _phrases("""
muon chet|muon tu tu|muon tu sat|nghi den chuyen tu tu|nghi den tu tu|nghi den chuyen tu sat
|ket lieu|khong muon song|chan song|het muon song|thiet song|song lam gi nua|song de lam gi
|chet cho xong|chet quach|chet di cho roi|muon bien mat|bien mat thi tot hon|bien mat cho xong
|thu tuyet menh|muon ngum|ngum luon cho xong|ngum cho xong|tu lam hai ban than|lam hai ban than
|tu hai ban than|tu lam dau ban than|lam dau ban than|rach tay|cat co tay|nhay lau|nhay cau
|muon nhay xuong|uong thuoc tru sau|uong thuoc chuot|khong con ly do de song
|khong bao gio tinh lai|khong bao gio thuc day|ngu mai khong day|muon die|muon ra di mai mai
|khong muon ton tai|ket thuc cuoc doi|ket thuc cuoc song|ket thuc tat ca|ket thuc doi minh
|khong muon song them|kill myself|killing myself|kill herself|kill himself|kill themselves|kms
|suicidal|end my life|end it all|want to end it|wanna end it|want to die|wanna die|wants to die
|wish i was dead|wish i were dead|better off dead|better off without me|hurt myself
|hurting myself|cut myself|cutting myself|don t want to live|dont want to live
|no reason to live|no point in living|take my own life|not worth living|jump off a bridge
|jump off the roof|jump off a building
""")
_SUICIDE_TOPIC = _phrases("""
tu tu|tu sat|tu hai|treo co|suicide|self harm
""")
_OVERDOSE_STATEMENT = _phrases("""
uong ca vi|nuot ca vi|uong het ca vi|uong het vi|uong ca lo|nuot ca lo|uong het ca lo
|uong het lo|nuot het lo|uong ca hop|uong het thuoc|nuot het thuoc|nuot nhieu thuoc
|uong nham thuoc|nuot nham thuoc|an nham thuoc|uong nham|nuot nham|goi khong tinh|goi khong day
|lay khong day|sui bot mep|tho rat yeu|tho khong noi|nam guc|bi hon me|dang hon me|hon me roi
|hon me sau|took too much|taken too much|too many pills|swallowed a|swallowed all|swallowed the
|not breathing|stopped breathing|barely breathing|won t wake up|wont wake up|blue lips
|lips are blue|heart is racing|can t stand up
""")
_OVERDOSE_TOPIC = _phrases("""
qua lieu|soc thuoc|soc ma tuy|soc ke|soc heroin|soc lieu|ngo doc|trung doc|bat tinh|ngat xiu
|bi ngat|bi xiu|ngat roi|xiu roi|xiu luon|kho tho|khong tho|ngung tho|lo mo|goi khong duoc
|dung qua nhieu|choi qua nhieu|uong nhieu thuoc ngu|tho yeu|tho kho khe|co giat|ngat tho
|tim dap nhanh|tim dap loan|dau nguc|nam im|khong tho duoc|overdose|overdosed|overdosing|od
|od d|poisoned|poisoning|can t breathe|cant breathe|unconscious|unresponsive|passed out
|collapsed|seizure|seizures|convulsing|heart racing|chest pain|foaming
""")
# Amounts of pills: "uống 20 viên", "took 30 pills".
_PILLS = re.compile(r" (?:uong|nuot|an|took|swallowed|taken) (?:\w+ )?(?:\d+|may|vai|nhieu|ca nam)"
                    r" (?:vien|pills|tablets) ")
_DANGER_STATEMENT = _phrases("""
doi giet|se giet|giet toi|giet em|giet minh|giet ca nha|giet tao|dam chem|doi chem
|dang danh toi|dang danh em|dang danh me|dang danh con|dang danh vo|dang danh nguoi
|dang danh ban|dang bi danh|danh toi|danh em|bi danh dap|dang danh nhau|doa danh|doa xu|doa se
|se xu toi|se xu em|no sung|xong vao nha|dap cua|keo den nha|tat axit|nhot toi|nhot em
|khong cho ve|ep cho hang|ep ban hang|ep van chuyen|ep giao hang|bi truy sat|cam dao
|cam hung khi|dang doa|doa toi|doa em|going to kill me|gonna kill me|threatening to kill
|threatening me|threatened me|attacking me|attacked me|beating me|is following me
|are following me|been following me|following me home|breaking in|breaking into
|outside my house|outside my door|hurt my family|will hurt me|going to hurt me|gonna hurt me
|being held|can t leave|smashing|kidnapped|has a knife|with a knife|with a gun|has a gun
""")
_DANGER_TOPIC = _phrases("""
hung khi|bi danh|bi nhot|de doa|doa giet|bat coc|threaten|co sung|bi theo doi
|theo doi toi|theo doi em|dung truoc nha|hanh hung|bao hanh
|doi no xa hoi den|knife|gun|violent|threatened
""")
# Harmless words and idioms as typed with diacritics, taken out before folding merges them
# with danger: "dành" (keep) and "đánh" (hit) fold alike, so do "cười xỉu" and fainting.
_HARMLESS_SPELLED = (
    "từ từ", "tư vấn", "đói muốn chết", "tự vấn", "dành", "ngất ngây", "cười ngất", "ngạt mũi",
    "cười xỉu", "cute xỉu", "thương xỉu", "đẹp xỉu", "xinh xỉu", "hay xỉu", "ngon xỉu", "đỉnh xỉu",
    "mê xỉu", "xỉu up", "xỉu down", "xỉu ngang", "tí xíu", "chút xíu", "bí danh", "lờ mờ",
    "thơm ngát", "ngát hương", "tự tin", "tự túc", "tự học", "tủ tủ", "treo cờ", "sưng", "ngắt",
    "sung sướng",
)
# Everyday idioms, folded ("mệt muốn chết": tired to death).
_HARMLESS = _phrases("""
met muon chet|nong muon chet|lanh muon chet|cuoi muon chet|chet cuoi|so muon chet|dep muon chet
|ngon muon chet|buon ngu muon chet|chan muon chet|thich muon chet|tu tu thoi|cu tu tu|tu tu nhe
|tu tu da|tu tu ma|killing time|dressed to kill|kill time|gun shy|od ta|od tren
|thoi tiet kho tho|hit me up|following me on|thanks for following|phim danh nhau|game danh nhau
|tre em|sung ban nuoc|danh gia|danh thue|danh dau|danh so|danh may|danh thuc|treo co to quoc
|treo co ngay|treo co do
""")
# How a general question is asked, as opposed to something happening: "signs of", "if", "how
# many", "is it punished", and a question closed by "không" ("có chết không").
_GENERIC = _phrases("""
dau hieu|trieu chung|bieu hien|la gi|bi gi|la sao|the nao|nhan biet|neu|gia su|phong tranh
|phong ngua|tranh bi|cach xu ly|xu ly|tai sao|vi sao|co the gay|co gay|nguy co|bao lau
|bao nhieu|ty le|moi nam|thong ke|bi phat|bi xu|phat tu|bao ve|dan den|co nguy hiem|signs
|symptoms|what is|what are|if someone|if a|if i|if you|what to do if|what happens|how do i know
|how can i tell|how to tell|how to recognise|how to recognize|why|can cause|risk of|prevent
|avoid|how many|how much|rates|rate of|statistics|more common|is it a crime|does|can you die
|can meth|can heroin|is suicide|where can i|buy
""")
_YES_NO = re.compile(r" (?:khong|chua) $")
# Someone real, now: a general wording next to these is still about a real person.
_NOW = _phrases("""
ban toi|ban minh|ban em|ban tao|ban t|nguoi yeu|chong toi|vo toi|con toi|em toi|anh toi|chi toi
|bo toi|me toi|no dang|no bi|no|anh ay|co ay|thang ban|dua ban|dang bi|vua moi|vua|ngay bay gio
|luc nay|roi|toi dang|toi bi|toi vua|tao vua|tao dang|em dang|em vua|minh dang|minh vua|cuu voi
|giup voi|gap lam|my friend|my brother|my sister|my son|my daughter|my boyfriend|my girlfriend
|my husband|my wife|he is|she is|he s|she s|i took|i just|i m|right now|help me|please help
""")
# Whoever speaks: self-harm words next to one of these are about that person.
_SELF = _phrases("""
toi|tao|tui|minh|em|anh|t|e|mk|mik|i|me|my|myself
""")
# Topic words whose folded form is an everyday word ("tu van" is also "tư vấn", counselling;
# "ngat" "ngát", fragrant; "xiu" "xíu", a little): they count only as typed with diacritics.
_SPELLED_TOPIC: dict[str, Crisis] = {
    "tự vẫn": "suicide", "ngất": "overdose", "xỉu": "overdose", "môi tím": "overdose",
    "hôn mê": "overdose", "tím tái": "overdose", "ngạt": "overdose",
}
_PRIORITY: tuple[Crisis, ...] = ("overdose", "danger", "suicide")
_LETTERS = re.compile(r"[^\W_]+")
_BREAK = "|"


def _spelled(text: str) -> str:
    """The words of ``text`` as typed, lower case, without the harmless ones."""
    spelled = f" {' '.join(_LETTERS.findall(text.lower()))} "
    for harmless in _HARMLESS_SPELLED:
        spelled = spelled.replace(f" {harmless} ", f" {_BREAK} ")
    return spelled


def _words(spelled: str) -> list[str]:
    """The folded words of ``spelled`` with shorthand expanded and idioms replaced by a break
    no phrase can span."""
    words = [w for token in spelled.split()
             for w in (TEENCODE.get(fold(token), (fold(token),)) if token != _BREAK
                       else (_BREAK,))]
    folded = f" {' '.join(words)} "
    for phrase in _HARMLESS:
        folded = folded.replace(phrase, f" {_BREAK} ")
    return folded.split()


def _has(text: str, phrases: tuple[str, ...]) -> bool:
    return any(phrase in text for phrase in phrases)


def crisis_of(text: str) -> Crisis | None:
    """The situation ``text`` describes if someone may be in danger now, else None.

    An overdose happening now comes first (115 is the first number to call, even when the
    person took the pills to die), then a threat, then the wish to die.
    """
    spelled = _spelled(text)
    folded = f" {' '.join(_words(spelled))} "
    general = _has(folded, _GENERIC) or _YES_NO.search(folded) is not None
    now = _has(folded, _NOW) or not general
    kinds: set[Crisis] = {kind for word, kind in _SPELLED_TOPIC.items()
                          if f" {word} " in spelled and (now or kind == "suicide")}
    if _has(folded, _SUICIDE_STATEMENT) or (
            _has(folded, _SUICIDE_TOPIC) and (now or _has(folded, _SELF))):
        kinds.add("suicide")
    if _has(folded, _OVERDOSE_STATEMENT) or _PILLS.search(folded) or (
            now and _has(folded, _OVERDOSE_TOPIC)):
        kinds.add("overdose")
    if _has(folded, _DANGER_STATEMENT) or (now and _has(folded, _DANGER_TOPIC)):
        kinds.add("danger")
    return next((kind for kind in _PRIORITY if kind in kinds), None)
