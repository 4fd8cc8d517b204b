"""Greeting, main menu, help, cancel and language choice."""

from __future__ import annotations

from dataclasses import dataclass

from bot.conversation.callbacks import CallbackData
from bot.conversation.i18n import LANGUAGES, use_language
from bot.conversation.i18n import gettext as _
from bot.conversation.messages import Option
from bot.conversation.routing import Context, Router
from bot.officials import OFFICER_ROLES
from bot.store import conversations, users

router = Router("start")


@dataclass(frozen=True, slots=True)
class LanguageButton(CallbackData, prefix="lang"):
    language: str


def main_menu(ctx: Context) -> list[Option]:
    """The menu for this user's role; every entry is handled by the router of its prefix."""
    role = ctx.user.role
    if role in OFFICER_ROLES:
        options = [Option(_("menu.reports"), "reports"), Option(_("menu.deadlines"), "dl:list"),
                   Option(_("menu.ask"), "faq")]
    else:
        options = [
            Option(_("menu.ask"), "faq"),
            Option(_("menu.report"), "report"),
            Option(_("menu.status"), "status"),
        ]
        if role == "managed":
            options.append(Option(_("menu.checkin"), "checkin"))
    other = "en" if ctx.language == "vi" else "vi"
    options.append(Option(_("menu.language"), LanguageButton(other).pack()))
    return options


def show_menu(ctx: Context, text: str) -> None:
    ctx.reply(text, main_menu(ctx))


@router.command("start")
async def start(ctx: Context) -> None:
    from handlers import checkin  # it builds on this module's menu

    ctx.finish()
    if ctx.incoming.args and await checkin.link(ctx, ctx.incoming.args):
        return
    if ctx.user.role in OFFICER_ROLES:
        show_menu(ctx, _("start.greeting_officer"))
    else:
        show_menu(ctx, _("start.greeting"))


@router.command("menu")
async def menu(ctx: Context) -> None:
    show_menu(ctx, _("menu.title"))


@router.command("help", in_flow=True)
async def help_(ctx: Context) -> None:
    from handlers import checkin

    if not await checkin.help_asked(ctx):
        ctx.reply(_("help.text"), main_menu(ctx))


@router.command("cancel", in_flow=True)
async def cancel(ctx: Context) -> None:
    """Ends the active flow, or else throws away the one kept aside."""
    if ctx.state is not None:
        ctx.finish()
        show_menu(ctx, _("cancel.done"))
    elif await conversations.take_suspended(ctx.conn, ctx.user.id, ctx.now,
                                            ctx.services.open) is not None:
        show_menu(ctx, _("cancel.kept_deleted"))
    else:
        show_menu(ctx, _("cancel.nothing"))


@router.command("resume")
async def resume(ctx: Context) -> None:
    await resume_kept(ctx, None)


async def resume_kept(ctx: Context, flow_name: str | None) -> bool:
    """Bring back the flow set aside (only if it is ``flow_name``, when given) at the step it
    was at; False, having said nothing, when there is none."""
    if flow_name is not None and await conversations.suspended_flow(
            ctx.conn, ctx.user.id, ctx.now) != flow_name:
        return False
    state = await conversations.take_suspended(ctx.conn, ctx.user.id, ctx.now,
                                               ctx.services.open)
    flow = ctx.flows.get(state.flow) if state is not None else None
    if state is None or flow is None:
        if flow_name is None:
            show_menu(ctx, _("resume.nothing"))
        return False
    ctx.state = state
    ctx.note(_("resume.done", flow=flow.describe()))
    flow.reprompt(ctx)
    return True


@router.command("lang", in_flow=True)
async def lang_command(ctx: Context) -> None:
    await _set_language(ctx, ctx.incoming.args.strip().lower())


@router.choice(LanguageButton, in_flow=True)
async def lang_choice(ctx: Context) -> None:
    await _set_language(ctx, ctx.button(LanguageButton).language)


async def _set_language(ctx: Context, wanted: str) -> None:
    if wanted not in LANGUAGES:
        ctx.reply(_("lang.choose"), [Option("Tiếng Việt", LanguageButton("vi").pack()),
                                     Option("English", LanguageButton("en").pack())])
        return
    await users.set_language(ctx.conn, ctx.user.id, wanted)
    ctx.language = wanted
    with use_language(wanted):
        flow = ctx.flows.get(ctx.state.flow) if ctx.state is not None else None
        if flow is not None:  # go on where they were, in the language they chose
            ctx.note(_("lang.changed"))
            flow.reprompt(ctx)
        else:
            show_menu(ctx, _("lang.changed"))


@router.choice("menu")
async def menu_choice(ctx: Context) -> None:
    show_menu(ctx, _("menu.title"))

