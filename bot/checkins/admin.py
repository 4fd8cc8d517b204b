"""``pcmt-bot admin enroll --csv FILE``: validate the whole file, then enrol its people and
print one line each: the name, a tab, the one-time link code, and for Telegram the deep link.

Nothing is imported when any row is bad, unless ``--partial``: then the good rows are.
Bad rows go to standard error with their line number and why; the exit code is 1 when any was
bad, 0 otherwise.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from bot.checkins.enrolment import enrol, read_csv
from bot.services import Services
from bot.settings import Settings
from bot.store import Store, audit

EXIT_BAD_ROWS = 1


def enroll(settings: Settings, services: Services, path: Path, *, partial: bool,
           open_store: Callable[[Settings, Services], Awaitable[Store]]) -> int:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"pcmt-bot: cannot read {path}: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(_enroll(settings, services, path, text, partial, open_store))


async def _enroll(settings: Settings, services: Services, path: Path, text: str, partial: bool,
                  open_store: Callable[[Settings, Services], Awaitable[Store]]) -> int:
    good, bad = read_csv(text, services.communes)
    for row in bad:
        print(f"{path}:{row.line}: {row.reason}", file=sys.stderr)
    if bad and not partial:
        print(f"pcmt-bot: {len(bad)} bad row(s), nothing imported (--partial imports the rest)",
              file=sys.stderr)
        return EXIT_BAD_ROWS
    bot_name = await _telegram_username(settings)
    store = await open_store(settings, services)
    try:
        now = datetime.now(UTC)
        async with store.transaction() as conn:
            codes = [(person.name, await enrol(conn, services.keyring, settings, person, now))
                     for _line, person in good]
            await audit.record(conn, at=now, actor="admin", action="enrolment.created",
                               detail=str(len(codes)))
    finally:
        await store.close()
    for name, code in codes:
        link = f"\thttps://t.me/{bot_name}?start={code}" if bot_name else ""
        print(f"{name}\t{code}{link}")
    return EXIT_BAD_ROWS if bad else 0


async def _telegram_username(settings: Settings) -> str | None:
    """The bot's username for deep links; None without Telegram or when it cannot be asked."""
    if settings.telegram_token is None:
        return None
    from telegram import Bot
    from telegram.error import TelegramError

    bot = Bot(settings.telegram_token.get_secret_value(), base_url=settings.telegram_base_url)
    try:
        async with bot:
            return bot.username
    except TelegramError as exc:
        print(f"pcmt-bot: no deep links, Telegram did not answer: {type(exc).__name__}",
              file=sys.stderr)
        return None
