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

from bot.knowledge._analysis import TEENCODE, unslur, untelex
from bot.knowledge._language import detect_language
from bot.text import fold

Crisis = Literal["suicide", "overdose", "danger"]


def _phrases(block: str) -> tuple[str, ...]:
    return tuple(f" {phrase.strip()} " for phrase in block.replace("\n", "").split("|")
                 if phrase.strip())


_SUICIDE_STATEMENT = _phrases("""
muon chet|muon chit|muon tu tu|muon tu sat|nghi den chuyen tu tu|nghi den tu tu|nghi den tu sat
|nghi den chuyen tu sat|ket lieu|khong muon song|khong con muon song|chan song|het muon song
|thiet song|thiet tha song|song lam gi nua|song de lam gi|song khong bang chet|chet cho xong
|chet quach|chet di cho roi|muon bien mat|bien mat thi tot hon|bien mat cho xong|thu tuyet menh
|muon ngum|ngum luon cho xong|ngum cho xong|tu lam hai ban than|lam hai ban than|tu hai ban than
|tu lam dau ban than|lam dau ban than|tu lam dau minh|tu hai minh|khong con ly do de song
|khong con gi de song|chang con gi de song|khong bao gio tinh lai|khong bao gio thuc day
|ngu mai khong day|muon die|muon ra di mai mai|khong muon ton tai|ket thuc cuoc doi
|ket thuc cuoc song|ket thuc tat ca|ket thuc moi thu|ket thuc doi minh|cham dut cuoc doi
|cham dut cuoc song|khong muon song them|muon giai thoat|song vo nghia|song chang co y nghia
|song khong co y nghia|kill myself|killing myself|kill herself|kill himself|kill themselves|kms
|suicidal|unalive|sewerslide|end my life|end it all|ending it all|want to end it|wanna end it
|want to die|wanna die|wants to die|wish i was dead|wish i were dead|better off dead
|better off without me|hurt myself|hurting myself|cut myself|cutting myself|don t want to live
|dont want to live|don t wanna live|no longer want to live|no reason to live|no point in living
|take my own life|not worth living|can t go on|give up on life|disappear forever
|want to disappear|end it tonight|going to end it|gonna end it|done with life|done living
|tired of living|sick of living|tired of life|chet khong dau|chet nhe nhang|cach tu tu
|cach tu sat|cach chet|tu tu nhe nhang|take to die|ways to die|how to die|painless way
|painless death|how to kill myself|bien mat khoi cuoc doi|nen bien mat|bien mat khoi the gioi
|bao nhieu vien thi chet|bao nhieu thi chet|lam sao de chet|cach nao de chet|muon chet cho nhanh
|thuoc ngu thi chet|vien thi chet|thuoc thi chet|uong gi de chet|uong gi thi chet|quyen sinh
|tim den cai chet|ve voi ong ba|song chi nua|song lam chi|chet me cho roi|nen chet
|khong dang song|ngu luon khong day|lao dau vao xe|kill my self|be dead|be alive anymore
|end my own life|wanna be dead|want to be dead
""")
# Self-harm words of questions too ("nhảy cầu" is also a sport, "uống thuốc chuột có chết
# không" a question): they count with someone, or outside a general question.
_SUICIDE_TOPIC = _phrases("""
tu tu|tu sat|tu hai|treo co|rach tay|rach co tay|cat co tay|cua tay|nhay lau|nhay cau|nhay song
|nhay xuong|nhay tu tang|jump off|uong thuoc tru sau|uong thuoc chuot|suicide|self harm|se chet
|dao lam|cat tay
""")
# Pills taken by the box: a general question rarely says it.
_OVERDOSE_STATEMENT = _phrases("""
uong ca vi|nuot ca vi|uong het ca vi|uong het vi|nuot het vi|uong ca lo|nuot ca lo
|uong het ca lo|uong het lo|nuot het lo|uong ca hop|nuot ca hop|uong het thuoc|nuot het thuoc
|nuot nhieu thuoc|took too much|taken too much|took way too much|did too much|done too much
|had too much|used too much|smoked too much|snorted too much|too many pills|swallowed a
|swallowed all|swallowed the|took a whole|took all my|took a lot of|ca nam thuoc|vua uong thuoc
|da uong thuoc|vua nuot thuoc|da nuot thuoc|vua uong het|vua nuot het|thuoc chuot roi
|thuoc tru sau roi|bunch of pills|handful of pills|whole bottle|entire bottle
""")
_OVERDOSE_TOPIC = _phrases("""
qua lieu|soc thuoc|soc ma tuy|soc ke|soc heroin|soc lieu|ngo doc|trung doc|bat tinh|ngat xiu
|bi ngat|bi xiu|ngat roi|xiu roi|xiu luon|kho tho|khong tho|ngung tho|tho doc|lo mo
|goi khong duoc|goi khong tinh|goi khong day|lay khong day|khong tinh lai|van khong tinh
|chua tinh lai|sui bot mep|tho rat yeu|tho khong noi|tho yeu|tho kho khe|nam guc|bat dong
|bi hon me|dang hon me|hon me roi|hon me sau|moi tim tai|tim tai roi|nguoi tim tai|lanh ngat
|tron mat|mat tron nguoc|tron nguoc|co giat|ngat tho|tim dap nhanh|tim dap loan|tim dap manh
|tim dap rat|dap thinh thich|dau nguc|tuc nguc|non ra mau|oi ra mau|non mua|nam im
|uong nham thuoc|nuot nham thuoc|an nham thuoc|uong nham|nuot nham|dung qua nhieu|choi qua nhieu
|uong qua nhieu|hit qua nhieu|hit nhieu qua|choi nhieu qua|uong nhieu qua|dung nhieu qua
|uong nhieu thuoc ngu|overdose|overdosed|overdosing|od|od d|od ing|poisoned|poisoning|swallowed
|can t breathe|cant breathe|trouble breathing|not breathing|stopped breathing|barely breathing
|won t wake up|wont wake up|not responding|won t respond|wont respond|blue lips|lips are blue
|turning blue|unconscious|unresponsive|passed out|collapsed|fainted|fainting|seizure|seizures
|convulsing|heart is racing|heart racing|heart is pounding|heart pounding|heart beating fast
|chest pain|chest hurts|chest is tight|foaming|can t stand up|tim tai|nuot vien|nuot phai
|an phai|i m dying|lim di|lim dan|nguoi lim|mai khong day|van khong day|khong tinh day|het tho
|khong con tho|tim ngung dap|ngung tim|khong cu dong|cung do|not waking up|isn t waking up
|not moving|can t wake|cant wake|oded|qua da|soc thuot
""")
# Amounts of pills: "uống 20 viên", "took 30 pills".
_PILLS = re.compile(r" (?:uong|nuot|an|took|swallowed|taken) (?:(?!bao )\w+ )?"
                    r"(?:\d+|may|vai|nhieu|ca nam|ca chuc|chuc) (?:vien|pills|tablets) ")
# Violence against the speaker, in so many words.
_DANGER_STATEMENT = _phrases("""
giet toi|giet em|giet minh|giet tao|giet ca nha|chem toi|chem em|dam toi|dam em|danh toi|danh em
|dang danh toi|dang danh em|dang danh me|dang danh con|dang danh vo|dang danh nguoi
|dang danh ban|dang bi danh|bi danh dap|dang danh nhau|doa toi|doa em|doa tao|nhot toi|nhot em
|giu toi|giu em|se xu toi|se xu em|tat axit|doa se|se giet|going to kill me|gonna kill me
|threatening to kill|threatening me|threatened me|threatened to|attacking me|attacked me
|beating me|beat me|stabbed|is following me|are following me|been following me|following me home
|stalking me|outside my house|outside my door|hurt my family|will hurt me|going to hurt me
|gonna hurt me|coming for me|coming after me|locked me|let me leave|let me go|for my life
|kidnapped|at my door|dam ban toi|dam ban em|dam nguoi|dam chet|chat tay|chat chan
|break the door|break down the door|hiding from|i m hiding|hiding in|biet nha toi|biet nha em
|know where i live|knows where i live|kill us|hurt my kids|hurt my children|hurt my son
|hurt my daughter|bat len xe|bat toi len|bat em len|chet voi tao|chet voi tui tao
|chet voi bon tao|may chet|would hurt me|would kill me|will kill me|kill me if|hurt me if
|pulled a knife|pulled a gun|after me|xu dep|biet tay|dan mat|di dao|ke dao|chia sung|chia dao
|kill my kids|kill my family|kill my children|kill my son|kill my daughter|kill my wife
|kill my husband|kill my mom|kill my dad
""")
_DANGER_TOPIC = _phrases("""
doa giet|doi giet|dam chem|doi chem|bi chem|bi dam|doa danh|doa xu|no sung|co sung|cam sung
|xong vao nha|dap cua|keo den nha|bi nhot|khong cho ve|khong cho di|giam giu|giu nguoi
|ep cho hang|ep ban hang|ep van chuyen|ep giao hang|bi truy sat|truy duoi|duoi danh|duoi chem
|cam dao|cam hung khi|cam ma tau|cam gay|cam kiem|cam bua|ma tau|hung khi|bi danh|danh vo
|danh con|danh me|danh bo|dap pha|dap do|dang doa|de doa|doa giet|bat coc|threaten|bi theo doi
|theo doi toi|theo doi em|dung truoc nha|hanh hung|bao hanh|bao luc|tra thu|doi no|tong tien
|doi no xa hoi den|knife|gun|weapon|violent|threatened|threatening|blackmail|being held
|can t leave|smashing|has a knife|with a knife|with a gun|has a gun|breaking in|breaking into
|locked in|ep di giao|ep di ban|ep di cho|weapons|doi xu|ham doa|bao vay|gap nguy hiem|in danger
|not safe
""")
# Harmless words and idioms as typed with diacritics, taken out before folding merges them
# with danger: "dành" (keep) and "đánh" (hit) fold alike, so do "cười xỉu" and fainting.
_HARMLESS_SPELLED = (
    "từ từ", "tư vấn", "đói muốn chết", "tự vấn", "dành", "ngất ngây", "cười ngất", "ngạt mũi",
    "cười xỉu", "cute xỉu", "thương xỉu", "đẹp xỉu", "xinh xỉu", "hay xỉu", "ngon xỉu", "đỉnh xỉu",
    "mê xỉu", "xỉu up", "xỉu down", "xỉu ngang", "tí xíu", "chút xíu", "bí danh", "lờ mờ",
    "thơm ngát", "ngát hương", "tự tin", "tự túc", "tự học", "tủ tủ", "treo cờ", "sưng", "ngắt",
    "sung sướng", "tìm đáp", "không tính", "súng bắn nước", "súng nước", "súng đồ chơi", "đăng",
    "đáng", "mệt xỉu", "đói xỉu", "nóng xỉu",
)
# Everyday idioms, folded ("mệt muốn chết": tired to death).
_HARMLESS = _phrases("""
met muon chet|nong muon chet|lanh muon chet|cuoi muon chet|chet cuoi|so muon chet|dep muon chet
|ngon muon chet|buon ngu muon chet|chan muon chet|thich muon chet|tu tu thoi|cu tu tu|tu tu nhe
|tu tu da|tu tu ma|killing time|dressed to kill|kill time|gun shy|od ta|od tren
|thoi tiet kho tho|hit me up|following me on|thanks for following|phim danh nhau|game danh nhau
|tre em|sung ban nuoc|danh gia|danh thue|danh dau|danh so|danh may|danh thuc|danh rang
|treo co to quoc|treo co ngay|treo co do|khong muon song chung|khong muon song cung
|khong muon song voi|chan song chung|chan song cung|chan song voi|let me go to|let me leave a
|tim dap an|tho doc lap|len con nghien|dang doi no|doi no luong|dang ky|dang so|tim tai nang
|tim tai lieu|tim tai khoan|tim tai xe|cam dao lam|dying to|dying for
""")
# How a general question is asked, as opposed to something happening: "signs of", "how many",
# "is it punished", "what to do", and a question closed by "không" ("có chết không").
_GENERIC = _phrases("""
dau hieu|trieu chung|bieu hien|la gi|bi gi|la sao|the nao|nhan biet|phong tranh|phong ngua
|tranh bi|cach xu ly|xu ly|tai sao|vi sao|co the gay|co gay|nguy co|bao lau|bao nhieu|ty le
|moi nam|thong ke|bi phat|bi xu|phat tu|bao ve|dan den|co nguy hiem|phai lam gi|phai lam sao
|lam sao|lam gi|goi so nao|goi so may|goi ai|so cuu|cap cuu nhu|signs|symptoms|what is|what are
|what to do|what happens|what do i do|what should i do|how do i know|how can i tell|how to tell
|how to recognise|how to recognize|how do i help|how to help|how can i help|why|can cause
|risk of|prevent|avoid|how many|how much|rates|rate of|statistics|more common|is it a crime
|is it illegal|does|can you die|can meth|can heroin|is suicide|where can i|buy|who do i call
|who should i call|which number|risk|can you|can i|can someone|can people|co phai|co sao|co nguy
|is it legal|awareness|campaign|chien dich
""")
# Asked about a case that may come: "nếu", "if", "lỡ".
_HYPOTHETICAL = _phrases("""
neu|gia su|phong khi|lo nhu|lo ma|nhung khi|if|in case|suppose|might|could|khi co nguoi
|khi ai do|khi ban be|khi nguoi khac|khi gap nguoi
""")
_YES_NO = re.compile(r" (?:khong|chua) $")
# It is happening: whatever else is said.
_NOW = _phrases("""
vua|vua moi|dang|ngay bay gio|bay gio|luc nay|hien gio|gio phai|gio sao|gio no|gio toi|gio em
|cuu voi|cuu em|cuu toi|giup voi|giup em voi|gap lam|right now|just|is now|help me|please help
|someone is|there s someone|there is someone|khi nay
""")
# Someone real: a general wording next to these is still about a real person, unless it is
# asked as a case that may come ("nếu bạn tôi...").
_SOMEONE = _phrases("""
ban toi|ban minh|ban em|ban tao|ban t|nguoi yeu|chong toi|vo toi|con toi|em toi|anh toi|chi toi
|bo toi|me toi|chong em|vo em|con em|bo em|me em|anh em toi|no|anh ay|co ay|thang ban|dua ban
|co nguoi|co dua|roi|toi bi|em bi|my friend|my brother|my sister|my son|my daughter|my boyfriend
|my girlfriend|my husband|my wife|my mom|my dad|he is|she is|he s|she s|i took|i m|i think i
|a guy|a man|a girl|a woman
""")
# Whoever speaks: self-harm words next to one of these are about that person.
_SELF = _phrases("""
toi|tao|tui|minh|em|anh|t|e|mk|mik|i|me|my|myself
""")
# Topic words whose folded form is an everyday word ("tu van" is also "tư vấn", counselling;
# "ngat" "ngát", fragrant; "xiu" "xíu", a little; "tu tu thoi" "từ từ thôi", slowly): as typed
# with diacritics they count whatever the folded idioms say.
_SPELLED_TOPIC: dict[str, Crisis] = {
    "tự tử": "suicide", "tự sát": "suicide", "tự vẫn": "suicide", "ngất": "overdose",
    "xỉu": "overdose", "môi tím": "overdose", "hôn mê": "overdose", "tím tái": "overdose",
    "ngạt": "overdose", "súng": "danger", "không dậy": "overdose",
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


# Chat spellings of the words that matter here ("chít", "chếc": chết; "liu": liều).
_CHAT_WORDS = {"chit": "chet", "chec": "chet", "chek": "chet", "liu": "lieu", "thuot": "thuoc"}


def _read(token: str, vietnamese: bool) -> tuple[str, ...]:
    if token in TEENCODE:
        return TEENCODE[token]
    if not vietnamese:  # "own" is no Telex "ô", "won" no chat "quơn"
        return (token,)
    return (_CHAT_WORDS.get(token) or unslur(untelex(token)),)


def _words(spelled: str, vietnamese: bool) -> list[str]:
    """The folded words of ``spelled`` with shorthand expanded (chat and Telex spellings too,
    when ``vietnamese``) and idioms replaced by a break no phrase can span."""
    words = [w for token in spelled.split()
             for w in (_read(fold(token), vietnamese) if token != _BREAK else (_BREAK,))]
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
    found = crises_of(text)
    return found[0] if found else None


def crises_of(text: str) -> tuple[Crisis, ...]:
    """Every situation ``text`` describes, the one to answer first first (see
    :func:`crisis_of`)."""
    spelled = _spelled(text)
    folded = f" {' '.join(_words(spelled, detect_language(text) == 'vi'))} "
    maybe = _has(folded, _HYPOTHETICAL)
    general = maybe or _has(folded, _GENERIC) or _YES_NO.search(folded) is not None
    now = (_has(folded, _NOW) or (not maybe and _has(folded, _SOMEONE))) or not general
    someone = now or _has(folded, _SELF)
    kinds: set[Crisis] = {kind for word, kind in _SPELLED_TOPIC.items()
                          if f" {word} " in spelled and (someone if kind == "suicide" else now)}
    if _has(folded, _SUICIDE_STATEMENT) or (_has(folded, _SUICIDE_TOPIC) and someone):
        kinds.add("suicide")
    if _has(folded, _OVERDOSE_STATEMENT) or _PILLS.search(folded) or (
            now and _has(folded, _OVERDOSE_TOPIC)):
        kinds.add("overdose")
    if _has(folded, _DANGER_STATEMENT) or (now and _has(folded, _DANGER_TOPIC)):
        kinds.add("danger")
    return tuple(kind for kind in _PRIORITY if kind in kinds)
