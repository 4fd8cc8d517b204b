"""The ``pcmt-bot`` command line: run, chat, db."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from bot import logs
from bot.app import App
from bot.channels.console import ConsoleChannel
from bot.errors import ConfigError
from bot.settings import Settings, load_settings
from bot.store import Store

EXIT_CONFIG = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pcmt-bot", description=(
        "Drug-prevention assistant for Vietnam. Settings come from PCMT_* environment "
        "variables or a .env file."))
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    commands.add_parser("run", help="start the configured channels, scheduler and web server")

    chat = commands.add_parser("chat", help="talk to the bot in this terminal")
    chat.add_argument("--user", default="console",
                      help="act as this console user (default: console)")

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_commands.add_parser("upgrade", help="apply the schema migrations")
    return parser


async def _run(settings: Settings) -> None:
    async with App(settings) as app:
        console = None
        if settings.telegram_token is None:
            console = ConsoleChannel()
            app.add_channel(console)
        await app.start()
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stopping.set)
        waiters: list[asyncio.Task[Any]] = [asyncio.create_task(stopping.wait())]
        if console is not None:
            waiters.append(asyncio.create_task(console.run(app.dispatcher.handle)))
        done, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        for task in done:
            task.result()


async def _chat(settings: Settings, user: str) -> None:
    async with App(settings) as app:
        console = ConsoleChannel(user)
        app.add_channel(console)
        await app.start()
        await app.delivery.drain()  # messages queued for this user while they were away
        await console.run(app.dispatcher.handle)
        await app.delivery.drain()


async def _db_upgrade(settings: Settings) -> None:
    store = await Store.open(settings.database_url)
    await store.close()
    print("database schema is up to date")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        # A terminal chat shows the conversation; routine log lines would drown it.
        quiet = args.command == "chat" and "PCMT_LOG_LEVEL" not in os.environ
        logs.configure("WARNING" if quiet else settings.log_level, settings.log_format,
                       sensitive=settings.log_sensitive, secrets=_secrets(settings))
        action: Callable[[], Coroutine[Any, Any, None]]
        if args.command == "run":
            action = lambda: _run(settings)  # noqa: E731
        elif args.command == "chat":
            action = lambda: _chat(settings, args.user)  # noqa: E731
        else:
            action = lambda: _db_upgrade(settings)  # noqa: E731
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(action())
    except ConfigError as exc:
        print(f"pcmt-bot: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    return 0


def _secrets(settings: Settings) -> list[str]:
    return [secret.get_secret_value()
            for secret in (settings.telegram_token, settings.secret_key) if secret is not None]
