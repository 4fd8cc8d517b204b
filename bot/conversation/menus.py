"""Options laid out for the channel at hand: long lists paged, numbers on numbered channels.

Handlers offer every option they have; this module cuts a list longer than the channel shows
at once into pages (the whole list kept in the database under a random id, so "more" works
after a restart and on any replica) and, where options are numbered lines rather than buttons,
records what each number means with the conversation. A message pushed later (a status notice,
a reminder) numbers its options after the ones already shown, so the person's next number
still means what they saw.
"""

from __future__ import annotations

import json
import math
import secrets
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.conversation.callbacks import CallbackData
from bot.conversation.i18n import gettext as _
from bot.conversation.messages import Option, Reply
from bot.conversation.routing import Context, Router
from bot.security.identity import open_at_rest, seal_at_rest
from bot.security.privacy import Keyring
from bot.store import menus

Item = TypeVar("Item")
LIST_KEPT = timedelta(days=2)
MENU_KEPT = timedelta(days=7)
_NAVIGATION = 2  # "previous" and "next" take two places on a page


@dataclass(frozen=True, slots=True)
class PageButton(CallbackData, prefix="pg"):
    list_id: str
    page: int


# --- paging ---------------------------------------------------------------------------------

async def paged(conn: AsyncConnection, keyring: Keyring, reply: Reply, size: int,
                now: datetime) -> Reply:
    """``reply`` cut to its first page when it has more than ``size`` options."""
    if len(reply.options) <= size:
        return reply
    list_id = secrets.token_urlsafe(9)
    body = json.dumps({"text": reply.text, "size": size,
                       "options": [asdict(option) for option in reply.options]},
                      ensure_ascii=False)
    await menus.save_list(conn, list_id, seal_at_rest(keyring, body), now + LIST_KEPT)
    return page(reply.text, reply.options, list_id, 0, size)


async def load_page(conn: AsyncConnection, keyring: Keyring, button: PageButton,
                    now: datetime) -> Reply | None:
    """Page ``button.page`` of a stored list; None when the list is gone."""
    stored = await menus.load_list(conn, button.list_id, now)
    if stored is None:
        return None
    body = json.loads(open_at_rest(keyring, stored))
    options = tuple(Option(**option) for option in body["options"])
    return replace(page(body["text"], options, button.list_id, button.page, body["size"]),
                   edit=True)


def page(text: str, options: Sequence[Option], list_id: str, number: int, size: int) -> Reply:
    kept = [option for option in options if option.keep]
    items = [option for option in options if not option.keep]
    shown, number, pages = window(items, number, max(1, size - len(kept) - _NAVIGATION))
    navigation = turns(number, pages, lambda other: PageButton(list_id, other).pack())
    return Reply(f"{text}\n\n{heading(number, pages)}", (*shown, *navigation, *kept))


def window(items: Sequence[Item], number: int, size: int) -> tuple[list[Item], int, int]:
    """Page ``number`` of ``items`` at ``size`` a page (kept within the pages there are), its
    number and how many pages there are."""
    pages = max(1, math.ceil(len(items) / size))
    number = min(max(number, 0), pages - 1)
    return list(items[number * size:(number + 1) * size]), number, pages


def turns(number: int, pages: int, data: Callable[[int], str]) -> list[Option]:
    """"Previous" and "next" where there is a page to turn to; ``data`` packs the button that
    shows page N."""
    navigation = []
    if number > 0:
        navigation.append(Option(_("paging.previous"), data(number - 1)))
    if number + 1 < pages:
        navigation.append(Option(_("paging.next"), data(number + 1)))
    return navigation


def heading(number: int, pages: int) -> str:
    return _("paging.page", page=number + 1, pages=pages)


# --- numbers --------------------------------------------------------------------------------

async def numbered(conn: AsyncConnection, keyring: Keyring, user_id: int,
                   replies: Sequence[Reply], now: datetime, *, pushed: bool = False,
                   ) -> list[Reply]:
    """``replies`` with their first numbers set, and the meaning of each number saved.

    A direct reply starts again from 1 (what the person sees now replaces what they saw); a
    ``pushed`` message counts on from the numbers already shown.
    """
    entries = await _entries(conn, keyring, user_id, now) if pushed else {}
    following = max(entries, default=0) + 1
    laid_out = []
    for reply in replies:
        if reply.options:
            reply = replace(reply, first_number=following)
            for option in reply.options:
                entries[following] = option.data
                following += 1
        laid_out.append(reply)
    if entries or not pushed:
        body = seal_at_rest(keyring, json.dumps(entries)) if entries else None
        await menus.save_menu(conn, user_id, body, now, now + MENU_KEPT)
    return laid_out


async def chosen(conn: AsyncConnection, keyring: Keyring, user_id: int, text: str,
                 now: datetime) -> tuple[str | None, int]:
    """What the number typed as ``text`` stands for (None when nothing), and how many
    numbers the person has to choose from."""
    entries = await _entries(conn, keyring, user_id, now)
    return entries.get(int(text)), len(entries)


async def _entries(conn: AsyncConnection, keyring: Keyring, user_id: int,
                   now: datetime) -> dict[int, str]:
    stored = await menus.menu(conn, user_id, now)
    if stored is None:
        return {}
    return {int(number): data for number, data in json.loads(open_at_rest(keyring, stored)).items()}


# --- the pages' own button ------------------------------------------------------------------

router = Router("paging")


@router.choice(PageButton, in_flow=True)
async def turn_page(ctx: Context) -> None:
    shown = await load_page(ctx.conn, ctx.services.keyring, ctx.button(PageButton), ctx.now)
    if shown is None:
        ctx.reply(_("paging.gone"))
    else:
        ctx.replies.append(shown)
