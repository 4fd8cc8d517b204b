"""Prevention questions: free text answered from the knowledge base, or browsed by topic.

A wrong confident answer is worse than "not sure": the retrieval says how sure it is and this
module shows one answer with its sources, a "did you mean" list, or an honest fallback. Words of
danger always bring the safety message first.
"""

from __future__ import annotations

from bot.conversation.i18n import gettext as _
from bot.conversation.i18n import use_language
from bot.conversation.messages import Option, Reply
from bot.conversation.routing import Context, Router
from bot.knowledge import Answer, Entry, KnowledgeBase

router = Router("faq")

LABEL_LIMIT = 60


def render(answer: Answer) -> Reply:
    """The reply a user sees for ``answer``, in the answer's language (console, channels, CLI)."""
    with use_language(answer.lang):
        parts: list[str] = []
        if answer.safety:
            parts.append(_("faq.safety"))
        options: list[Option] = []
        if answer.kind in ("answer", "safety") and answer.entry is not None:
            parts.append(_entry_text(answer.entry))
            options.append(Option(_("faq.more_on_topic"), f"faqt:{answer.entry.topic}"))
        elif answer.kind == "suggest" and answer.suggestions:
            parts.append(_("faq.did_you_mean"))
            options.extend(Option(_label(entry), f"faqe:{entry.id}")
                           for entry in answer.suggestions)
        elif not answer.safety:
            parts.append(_("faq.fallback"))
        options.extend([Option(_("faq.browse"), "faqt"), Option(_("menu.title_short"), "menu")])
        return Reply("\n\n".join(parts), tuple(options))


def _entry_text(entry: Entry) -> str:
    return _("faq.answer", answer=entry.answer, sources="; ".join(entry.sources),
             reviewed=entry.reviewed.strftime("%d/%m/%Y"))


def _label(entry: Entry) -> str:
    question = entry.questions[0]
    return question if len(question) <= LABEL_LIMIT else question[: LABEL_LIMIT - 1] + "…"


def _topics_reply(kb: KnowledgeBase, language: str) -> Reply:
    options = [Option(topic.title, f"faqt:{topic.id}") for topic in kb.topics(language)]
    options.append(Option(_("menu.title_short"), "menu"))
    return Reply(_("faq.topics"), tuple(options))


@router.choice("faq")
async def ask(ctx: Context) -> None:
    ctx.reply(_("faq.prompt"), [Option(_("faq.browse"), "faqt"),
                                Option(_("menu.title_short"), "menu")])


@router.choice("faqt")
async def browse(ctx: Context) -> None:
    kb = ctx.services.knowledge
    assert ctx.incoming.choice is not None
    topic_id = ctx.incoming.choice.partition(":")[2]
    topic = next((t for t in kb.topics(ctx.language) if t.id == topic_id), None)
    if topic is None:
        ctx.replies.append(_topics_reply(kb, ctx.language))
        return
    entries = [kb.entry(entry_id, ctx.language) for entry_id in topic.entry_ids]
    options = [Option(_label(entry), f"faqe:{entry.id}") for entry in entries if entry]
    options.append(Option(_("faq.all_topics"), "faqt"))
    ctx.reply(topic.title, options)


@router.choice("faqe")
async def show_entry(ctx: Context) -> None:
    kb = ctx.services.knowledge
    assert ctx.incoming.choice is not None
    entry = kb.entry(ctx.incoming.choice.partition(":")[2], ctx.language)
    if entry is None:
        ctx.replies.append(_topics_reply(kb, ctx.language))
        return
    ctx.reply(_entry_text(entry), [Option(_("faq.more_on_topic"), f"faqt:{entry.topic}"),
                                   Option(_("menu.title_short"), "menu")])


@router.text
async def question(ctx: Context) -> None:
    ctx.replies.append(render(ctx.services.knowledge.answer(ctx.incoming.text or "")))
