"""Greeting, main menu, help, cancel and language choice."""

from __future__ import annotations

from bot.conversation.i18n import LANGUAGES, use_language
from bot.conversation.i18n import gettext as _
from bot.conversation.messages import Option
from bot.conversation.routing import Context, Router
from bot.store import users

router = Router("start")

OFFICER_ROLES = ("officer", "supervisor")


def main_menu(ctx: Context) -> list[Option]:
    """The menu for this user's role; every entry is handled by the router of its prefix."""
    role = ctx.user.role
    if role in OFFICER_ROLES:
        options = [Option(_("menu.reports"), "reports"), Option(_("menu.ask"), "faq")]
    else:
        options = [
            Option(_("menu.ask"), "faq"),
            Option(_("menu.report"), "report"),
            Option(_("menu.status"), "status"),
        ]
        if role == "managed":
            options.append(Option(_("menu.checkin"), "checkin"))
    other = "en" if ctx.language == "vi" else "vi"
    options.append(Option(_("menu.language"), f"lang:{other}"))
    return options


def show_menu(ctx: Context, text: str) -> None:
    ctx.reply(text, main_menu(ctx))


@router.command("start")
async def start(ctx: Context) -> None:
    ctx.finish()
    if ctx.user.role in OFFICER_ROLES:
        show_menu(ctx, _("start.greeting_officer"))
    else:
        show_menu(ctx, _("start.greeting"))


@router.command("menu")
async def menu(ctx: Context) -> None:
    show_menu(ctx, _("menu.title"))


@router.command("help")
async def help_(ctx: Context) -> None:
    ctx.reply(_("help.text"), main_menu(ctx))


@router.command("cancel")
async def cancel(ctx: Context) -> None:
    had_flow = ctx.state is not None
    ctx.finish()
    show_menu(ctx, _("cancel.done") if had_flow else _("cancel.nothing"))


@router.command("lang")
async def lang_command(ctx: Context) -> None:
    await _set_language(ctx, ctx.incoming.args.strip().lower())


@router.choice("lang")
async def lang_choice(ctx: Context) -> None:
    assert ctx.incoming.choice is not None
    await _set_language(ctx, ctx.incoming.choice.partition(":")[2])


async def _set_language(ctx: Context, wanted: str) -> None:
    if wanted not in LANGUAGES:
        ctx.reply(_("lang.choose"), [Option("Tiếng Việt", "lang:vi"), Option("English", "lang:en")])
        return
    await users.set_language(ctx.conn, ctx.user.id, wanted)
    ctx.language = wanted
    with use_language(wanted):
        show_menu(ctx, _("lang.changed"))


@router.choice("menu")
async def menu_choice(ctx: Context) -> None:
    show_menu(ctx, _("menu.title"))


async def coming_soon(ctx: Context) -> None:
    show_menu(ctx, _("menu.coming_soon"))


for _prefix in ("checkin",):
    router.choice(_prefix)(coming_soon)
