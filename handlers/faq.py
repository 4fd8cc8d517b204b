"""Prevention questions: free text answered from the knowledge base, or browsed by topic.

A wrong confident answer is worse than "not sure": the retrieval says how sure it is and this
module shows one answer with its sources, a "did you mean" list, or an honest fallback. Words of
danger always bring the safety message for the situation first; small talk gets a short reply.
The first reply fits a phone screen; the rest of an answer comes with the "more" button.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from bot.conversation.callbacks import CallbackData
from bot.conversation.i18n import gettext as _
from bot.conversation.i18n import use_language
from bot.conversation.messages import Option, Reply
from bot.conversation.routing import Context, Router
from bot.knowledge import Answer, Crisis, Entry, KnowledgeBase, Talk

router = Router("faq")

LABEL_LIMIT = 60
# The first reply, source line included, should fit a phone screen (about 350 characters):
# the opening sentences of the answer up to this many, the rest behind "more".
LEAD_CHARS = 250
# A first sentence this much longer than the lead is cut after a clause instead.
_SLACK = 40

# A sentence ends at ".", "!" or "?" followed by a capital letter: "Art. 256a", "No. 120" and
# "TP.HCM" do not end one.
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=[\"“(]?[A-ZÀ-Ỹ])")
_PARENTHESIS = re.compile(r"\s*\([^)]*\)")


@dataclass(frozen=True, slots=True)
class FaqButton(CallbackData, prefix="faq"):
    """``action``: "" (the prompt), "topics", "topic" (``value``: its id), "entry" or "more"
    (``value``: an entry id)."""

    action: str = ""
    value: str = ""


# Caring words and the numbers that fit: 115 for an overdose, 113 for a threat, a
# mental-health line and never the drug-crime hotline for someone who wants to die.
_CRISIS_TEXT: dict[Crisis, Callable[[], str]] = {
    "suicide": lambda: _("faq.crisis.suicide"),
    "overdose": lambda: _("faq.crisis.overdose"),
    "danger": lambda: _("faq.crisis.danger"),
}
_TALK_TEXT: dict[Talk, Callable[[], str]] = {
    "greeting": lambda: _("faq.talk.greeting"),
    "thanks": lambda: _("faq.talk.thanks"),
    "bye": lambda: _("faq.talk.bye"),
    "yes": lambda: _("faq.talk.yes_no"),
    "no": lambda: _("faq.talk.yes_no"),
    "number": lambda: _("faq.talk.number"),
    "ask": lambda: _("faq.prompt"),
}


def _button(action: str, value: str = "") -> str:
    return FaqButton(action, value).pack()


def split_answer(answer: str) -> tuple[str, str]:
    """``answer`` as its lead (whole sentences of the first paragraph up to
    :data:`LEAD_CHARS`; a longer first sentence is cut after a clause) and the rest."""
    first, _sep, later = answer.partition("\n\n")
    sentences = _SENTENCE_END.split(first)
    lead = sentences[0]
    taken = 1
    for sentence in sentences[1:]:
        if len(lead) + 1 + len(sentence) > LEAD_CHARS:
            break
        lead = f"{lead} {sentence}"
        taken += 1
    rest = " ".join(sentences[taken:])
    if len(lead) > LEAD_CHARS + _SLACK:
        cut = max(lead.rfind(mark, 0, LEAD_CHARS) for mark in ("; ", ": ", ", "))
        if cut > LEAD_CHARS // 2:
            lead, rest = lead[:cut + 1] + " …", "… " + " ".join([lead[cut + 2:], rest]).strip()
    return lead, "\n\n".join(part for part in (rest, later) if part)


def short_sources(entry: Entry) -> str:
    """The first source without its parenthesised detail, for the first reply ("more" lists
    them all)."""
    first = _PARENTHESIS.sub("", entry.sources[0])
    return f"{first}; …" if len(entry.sources) > 1 else first


def first_reply_text(entry: Entry) -> str:
    lead, _rest = split_answer(entry.answer)
    return _("faq.answer_short", answer=lead, sources=short_sources(entry))


def _entry_options(entry: Entry) -> list[Option]:
    options = []
    if split_answer(entry.answer)[1]:
        options.append(Option(_("faq.more"), _button("more", entry.id)))
    options.append(Option(_("faq.more_on_topic"), _button("topic", entry.topic)))
    return options


def render(answer: Answer) -> Reply:
    """The reply a user sees for ``answer``, in the answer's language (console, channels, CLI)."""
    with use_language(answer.lang):
        if answer.kind == "smalltalk":
            return _smalltalk(answer)
        parts: list[str] = []
        options: list[Option] = []
        if answer.crisis is not None:
            parts.append(_CRISIS_TEXT[answer.crisis]())
            # The numbers come first; someone who harmed themselves wanting to die also needs
            # the caring words and the mental-health line.
            if "suicide" in answer.also:
                parts.append(_CRISIS_TEXT["suicide"]())
        if answer.entry is not None:
            parts.append(first_reply_text(answer.entry))
            options.extend(_entry_options(answer.entry))
        elif answer.suggestions:
            if answer.crisis is None:
                parts.append(_("faq.did_you_mean"))
            options.extend(Option(_label(entry), _button("entry", entry.id))
                           for entry in answer.suggestions)
        elif answer.crisis is None:
            parts.append(_("faq.fallback"))
        options.extend([Option(_("faq.browse"), _button("topics")),
                        Option(_("menu.title_short"), "menu")])
        return Reply("\n\n".join(parts), tuple(options))


def _smalltalk(answer: Answer) -> Reply:
    options = (Option(_("faq.browse"), _button("topics")), Option(_("menu.title_short"), "menu"))
    assert answer.talk is not None
    return Reply(_TALK_TEXT[answer.talk](), options)


def _label(entry: Entry) -> str:
    question = entry.questions[0]
    return question if len(question) <= LABEL_LIMIT else question[: LABEL_LIMIT - 1] + "…"


def _topics_reply(kb: KnowledgeBase, language: str) -> Reply:
    options = [Option(topic.title, _button("topic", topic.id)) for topic in kb.topics(language)]
    options.append(Option(_("menu.title_short"), "menu"))
    return Reply(_("faq.topics"), tuple(options))


@router.choice(FaqButton)
async def pressed(ctx: Context) -> None:
    button = ctx.button(FaqButton)
    kb = ctx.services.knowledge
    if button.action == "":
        ctx.reply(_("faq.prompt"), [Option(_("faq.browse"), _button("topics")),
                                    Option(_("menu.title_short"), "menu")])
        return
    if button.action == "topic":
        topic = next((t for t in kb.topics(ctx.language) if t.id == button.value), None)
        if topic is not None:
            entries = [kb.entry(entry_id, ctx.language) for entry_id in topic.entry_ids]
            options = [Option(_label(e), _button("entry", e.id)) for e in entries if e]
            options.append(Option(_("faq.all_topics"), _button("topics")))
            ctx.reply(topic.title, options)
            return
    entry = kb.entry(button.value, ctx.language) if button.action in ("entry", "more") else None
    if entry is None:
        ctx.replies.append(_topics_reply(kb, ctx.language))
    elif button.action == "entry":
        ctx.reply(first_reply_text(entry),
                  [*_entry_options(entry), Option(_("menu.title_short"), "menu")])
    else:
        ctx.reply(_("faq.answer_rest", answer=split_answer(entry.answer)[1],
                    sources="; ".join(entry.sources),
                    reviewed=entry.reviewed.strftime("%d/%m/%Y")),
                  [Option(_("faq.more_on_topic"), _button("topic", entry.topic)),
                   Option(_("menu.title_short"), "menu")])


@router.text
async def question(ctx: Context) -> None:
    answer = await ctx.services.knowledge.ask(ctx.incoming.text or "", prefer=ctx.language)
    ctx.replies.append(render(answer))
