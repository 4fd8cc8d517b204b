"""The ``pcmt-bot`` command line: run, chat, db."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import Callable, Coroutine, Iterable, Sequence
from pathlib import Path
from typing import Any

from bot import logs
from bot.app import App
from bot.channels.base import Channel
from bot.channels.console import ConsoleChannel
from bot.deadlines import admin as deadlines_admin
from bot.errors import ConfigError, StoreError
from bot.officials import check_admin_chat
from bot.services import Services
from bot.settings import Settings, load_settings
from bot.store import Store
from scheduler import outbox_admin

EXIT_CONFIG = 2
LOG_FILE = "pcmt-bot.log"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pcmt-bot", description=(
        "Drug-prevention assistant for Vietnam. Settings come from PCMT_* environment "
        "variables or a .env file."))
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="start the configured channels, scheduler and web server")
    run.add_argument("--user", default="console",
                     help="the console user when no messaging token is set (default: console)")

    chat = commands.add_parser("chat", help="talk to the bot in this terminal")
    chat.add_argument("--user", default="console",
                      help="act as this console user (default: console)")

    ask = commands.add_parser("ask", help="answer prevention questions from the knowledge base")
    ask.add_argument("--lang", choices=["vi", "en"], help="answer in this language")
    ask.add_argument("--json", action="store_true", help="one JSON object per answer")
    ask.add_argument("text", nargs="+", metavar="TEXT",
                     help="the question, or - to read one question a line from standard input")

    communes = commands.add_parser("communes", help="the official list of communes")
    communes_commands = communes.add_subparsers(dest="communes_command", required=True,
                                                metavar="ACTION")
    search = communes_commands.add_parser("search", help="find a commune as people type it")
    search.add_argument("--json", action="store_true", help="one JSON array per query")
    search.add_argument("--limit", type=int, default=5, help="candidates per query (default 5)")
    search.add_argument("text", nargs="+", metavar="TEXT",
                        help="the query, or - to read one query a line from standard input")

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_commands.add_parser("upgrade", help="apply the schema migrations")

    admin = commands.add_parser("admin", help=(
        "police invites, reports nobody has received, enrolling people, appointments, "
        "reporting deadlines, the outbox"))
    admin_commands = admin.add_subparsers(dest="admin_command", required=True, metavar="ACTION")
    invite = admin_commands.add_parser(
        "invite", help="print a one-time code that links a police chat to a commune or province")
    invite.add_argument("--role", choices=["officer", "supervisor"], required=True,
                        help="officer: commune police; supervisor: provincial police")
    invite.add_argument("--commune", metavar="CODE", help="commune code, for an officer")
    invite.add_argument("--province", metavar="CODE", help="province code, for a supervisor")
    invite.add_argument("--hours", type=float, default=72.0,
                        help="the code expires after this many hours (default 72)")
    admin_commands.add_parser(
        "unrouted", help="open reports no police chat has received yet (never their content)")
    enroll = admin_commands.add_parser(
        "enroll", help="enrol people for check-ins from a CSV file; prints each one's link code")
    enroll.add_argument("--csv", metavar="FILE", required=True, type=Path,
                        help="name,commune,type,start,cadence,time,language[,end,...]")
    enroll.add_argument("--partial", action="store_true",
                        help="import the good rows even when some are bad")
    appointments = admin_commands.add_parser(
        "appointments", help="record appointments of enrolled people from a CSV file")
    appointments.add_argument("--csv", metavar="FILE", required=True, type=Path,
                              help="name,commune,date,time,kind[,place]")
    appointments.add_argument("--partial", action="store_true",
                              help="import the good rows even when some are bad")
    deadlines_admin.add_parser(admin_commands)
    zalo_oa = admin_commands.add_parser("zalo-oa", help="the Zalo Official Account's tokens")
    zalo_oa_commands = zalo_oa.add_subparsers(dest="zalo_oa_command", required=True,
                                              metavar="ACTION")
    connect = zalo_oa_commands.add_parser(
        "connect", help="store the OA's first tokens from the refresh token of the OAuth consent")
    connect.add_argument("--refresh-token", metavar="TOKEN", required=True,
                         help="the refresh token the Zalo developer console gave (used once)")
    outbox_admin.add_parser(admin_commands)
    return parser


async def _run(settings: Settings, user: str) -> None:
    """Every configured channel in one loop: each initialised before the app starts (a
    webhook's route must be on the web server), started after, stopped before the store
    closes."""
    async with App(settings) as app, contextlib.AsyncExitStack() as running:
        channels: list[Channel] = []
        if not settings.messaging:
            channels.append(ConsoleChannel(user, handle=app.dispatcher.handle))
        if settings.telegram_token is not None:
            from bot.channels.telegram import TelegramChannel

            telegram = TelegramChannel(app.dispatcher)
            app.add_routes(telegram.install_routes)
            channels.append(telegram)
        if settings.zalo_bot_token is not None:
            from bot.channels.zalo_bot import ZaloBotChannel

            zalo = ZaloBotChannel(app.dispatcher)
            app.add_routes(zalo.install_routes)
            channels.append(zalo)
        if settings.zalo_oa_app_id is not None:
            from bot.channels.zalo_oa import ZaloOaChannel

            oa = ZaloOaChannel(app.dispatcher)
            app.add_routes(oa.install_routes)
            channels.append(oa)
        for channel in channels:
            running.push_async_callback(channel.stop)
            await channel.initialize()
            app.add_channel(channel)
        await app.start()
        for channel in channels:
            await channel.start()
        await _until_stopped(*(channel.finished() for channel in channels
                               if isinstance(channel, ConsoleChannel)))


async def _chat(settings: Settings, user: str) -> None:
    async with App(settings) as app:
        console = ConsoleChannel(user, handle=app.dispatcher.handle)
        app.add_channel(console)
        await app.start()
        await app.delivery.drain()  # messages queued for this user while they were away
        async with console:
            await _until_stopped(console.finished())
        await app.delivery.drain()


async def _until_stopped(*work: Coroutine[Any, Any, None]) -> None:
    """Wait until any of ``work`` ends or SIGINT or SIGTERM arrives; the caller's
    ``async with`` then closes everything in order."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    waiters: list[asyncio.Task[Any]] = [asyncio.create_task(stopping.wait()),
                                         *(asyncio.create_task(each) for each in work)]
    try:
        done, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        for task in done:
            task.result()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


async def _db_upgrade(settings: Settings) -> None:
    store = await Store.open(settings.database_url)
    await store.close()
    print("database schema is up to date")


def _ask(words: list[str], language: str | None, as_json: bool) -> None:
    from bot.knowledge import KnowledgeBase
    from handlers.faq import render

    kb = KnowledgeBase.load()
    lines: Iterable[str] = sys.stdin if words == ["-"] else [" ".join(words)]
    one_a_line = words == ["-"]
    for line in lines:
        answer = kb.answer(line.rstrip("\n"), lang=language)
        reply = render(answer)
        if as_json:
            print(json.dumps({
                "answer": reply.text,
                "entry_id": answer.entry.id if answer.entry else None,
                "score": round(answer.score, 4),
                "confident": answer.entry is not None,
                "safety": answer.safety,
                "lang": answer.lang,
                "suggestions": [{"entry_id": entry.id, "question": entry.questions[0]}
                                for entry in answer.suggestions],
            }, ensure_ascii=False), flush=True)
        elif one_a_line:
            print(" ".join(reply.text.split()), flush=True)
        else:
            print(reply.text)
            for number, option in enumerate(reply.options, start=1):
                print(f"  {number}. {option.label}")


MAX_INVITE_HOURS = 720.0


def _admin(settings: Settings, args: argparse.Namespace) -> int:
    services = Services(settings)
    if args.admin_command == "unrouted":
        asyncio.run(_admin_unrouted(settings, services))
        return 0
    if args.admin_command in ("enroll", "appointments"):
        from bot.checkins import admin

        command = admin.enroll if args.admin_command == "enroll" else admin.appointments
        return command(settings, services, args.csv, partial=args.partial,
                       open_store=_admin_store)
    if args.admin_command == "deadlines":
        return asyncio.run(deadlines_admin.run(settings, services, args, _admin_store))
    if args.admin_command == "zalo-oa":
        return asyncio.run(_admin_zalo_oa_connect(settings, services, args.refresh_token))
    if args.admin_command == "outbox":
        return asyncio.run(outbox_admin.run(settings, services, args, _admin_store))
    try:
        commune_code, province_code = _invite_place(services, args)
    except ValueError as exc:
        print(f"pcmt-bot: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    asyncio.run(_admin_invite(settings, services, args.role, commune_code, province_code,
                              args.hours))
    return 0


def _invite_place(services: Services, args: argparse.Namespace) -> tuple[str | None, str]:
    """The commune and province an invite binds to; ValueError names what is wrong."""
    if not 0 < args.hours <= MAX_INVITE_HOURS:
        raise ValueError(f"--hours must be more than 0 and at most {MAX_INVITE_HOURS:g}")
    index = services.communes
    if args.role == "officer":
        if not args.commune or args.province:
            raise ValueError("an officer invite takes --commune CODE (and no --province)")
        commune = index.get(args.commune)
        if commune is None:
            raise ValueError(f"unknown commune code {args.commune!r}")
        return commune.code, commune.province_code
    if not args.province or args.commune:
        raise ValueError("a supervisor invite takes --province CODE (and no --commune)")
    code = args.province.strip().zfill(2)
    if not any(province.code == code for province in index.provinces()):
        raise ValueError(f"unknown province code {args.province!r}")
    return None, code


async def _admin_store(settings: Settings, services: Services) -> Store:
    from datetime import UTC, datetime

    from bot.errors import StoreError
    from bot.security.keys import check_key
    from bot.store import communes

    key = services.key
    try:
        store = await Store.open(settings.database_url)
    except StoreError as exc:
        raise ConfigError("PCMT_DATABASE_URL", str(exc)) from exc
    try:
        await check_key(store, key, datetime.now(UTC))
    except ConfigError:
        await store.close()
        raise
    # an enrolment or appointment names a commune: on a database no ``run`` has prepared yet,
    # the official list must be there first
    async with store.transaction() as conn:
        await communes.sync(conn, *services.commune_list)
    return store


async def _admin_invite(settings: Settings, services: Services, role: str, commune_code: str | None,
                        province_code: str, hours: float) -> None:
    from datetime import UTC, datetime, timedelta

    from bot.clock import VIETNAM
    from bot.officials.invites import invite_hash
    from bot.security.privacy import new_ticket_code
    from bot.store import audit, officers

    code = new_ticket_code()
    now = datetime.now(UTC)
    expires = now + timedelta(hours=hours)
    store = await _admin_store(settings, services)
    try:
        async with store.transaction() as conn:
            await officers.create_invite(conn, code_hash=invite_hash(services.keyring, code),
                                         role=role, commune_code=commune_code,
                                         province_code=province_code, expires_at=expires)
            await audit.record(conn, at=now, actor="admin", action="invite.created",
                               subject=commune_code or province_code, detail=role)
    finally:
        await store.close()
    if commune_code is not None:
        commune = services.communes.get(commune_code)
        assert commune is not None
        place = f"commune {commune.code} {commune.name}, {commune.province_name}"
    else:
        province = next(p for p in services.communes.provinces() if p.code == province_code)
        place = f"province {province.code} {province.name}"
    print(f"invite code: {code}")
    print(f"for: {role} of {place}")
    print(f"expires: {expires:%Y-%m-%d %H:%M} UTC "
          f"({expires.astimezone(VIETNAM):%Y-%m-%d %H:%M} Vietnam time)")
    print(f"the officer types /join {code} in a private chat with the bot or in the unit's "
          "group; the code works once")


async def _admin_unrouted(settings: Settings, services: Services) -> None:
    from datetime import UTC, datetime

    from bot.reports import place_of
    from bot.store import audit, reports

    store = await _admin_store(settings, services)
    try:
        async with store.transaction() as conn:
            waiting = await reports.awaiting_route(conn, commune_code=None, province_code=None)
            await audit.record(conn, at=datetime.now(UTC), actor="admin",
                               action="report.unrouted", detail=str(len(waiting)))
    finally:
        await store.close()
    if not waiting:
        print("no open report is waiting for a police chat")
        return
    print("ticket\tcommune\tprovince\tday")
    for report in waiting:
        place = place_of(services.communes, report)
        print(f"{report.ticket}\t{report.commune_code} {place.commune}\t"
              f"{report.province_code} {place.province}\t{report.received_day.isoformat()}")


async def _admin_zalo_oa_connect(settings: Settings, services: Services,
                                 refresh_token: str) -> int:
    from datetime import UTC, datetime

    from bot.channels.zalo_oa import Tokens
    from bot.channels.zalo_oa._oa_client import ApiError, OaClient, OaError
    from bot.clock import VIETNAM
    from bot.store import audit

    for setting, value in (("PCMT_ZALO_OA_APP_ID", settings.zalo_oa_app_id),
                           ("PCMT_ZALO_OA_APP_SECRET", settings.zalo_oa_app_secret)):
        if value is None:
            raise ConfigError(setting, "must be set to connect the Zalo OA")
    assert settings.zalo_oa_app_id is not None and settings.zalo_oa_app_secret is not None
    token = refresh_token.strip()
    if not token:
        raise ConfigError("--refresh-token", "is empty")
    client = OaClient(api_url=settings.zalo_oa_api_url, oauth_url=settings.zalo_oa_oauth_url,
                      app_id=settings.zalo_oa_app_id,
                      app_secret=settings.zalo_oa_app_secret.get_secret_value(),
                      timeout=settings.zalo_oa_timeout_seconds, connections=1)
    store = await _admin_store(settings, services)
    await client.open()
    try:
        tokens = Tokens(store, services.keyring, client, lambda: datetime.now(UTC))
        try:
            await tokens.connect(token)
        except OaError as exc:
            what = ("Zalo refused the refresh token" if isinstance(exc, ApiError)
                    else "Zalo's OAuth server did not answer")
            print(f"pcmt-bot: {what} ({exc.reason}); nothing was stored. Get a new refresh "
                  "token from the OA's consent in the Zalo developer console and run this "
                  "again (each token works once).", file=sys.stderr)
            return 1
        async with store.transaction() as conn:
            await audit.record(conn, at=datetime.now(UTC), actor="admin",
                               action="zalo_oa.connected", subject=settings.zalo_oa_app_id)
    finally:
        await client.close()
        await store.close()
    expires = tokens.expires_at
    assert expires is not None
    print(f"the Zalo OA of app {settings.zalo_oa_app_id} is connected; the access token is "
          f"valid until {expires.astimezone(VIETNAM):%Y-%m-%d %H:%M} Vietnam time and is "
          "refreshed on its own from now on")
    return 0


def _communes_search(words: list[str], limit: int, as_json: bool) -> None:
    from bot.geo import CommuneIndex, load_communes

    index = CommuneIndex(*load_communes())
    lines: Iterable[str] = sys.stdin if words == ["-"] else [" ".join(words)]
    for line in lines:
        candidates = index.search(line.rstrip("\n"), limit=limit)
        if as_json:
            print(json.dumps([{"code": c.commune.code, "name": c.commune.name,
                               "province": c.commune.province_name, "score": round(c.score, 2),
                               "old": c.old} for c in candidates],
                             ensure_ascii=False), flush=True)
        else:
            print("; ".join(f"{c.commune.code} {c.commune.name}, {c.commune.province_name}"
                            + (f" (before 2025: {c.old})" if c.old else "")
                            for c in candidates) or "-", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "ask":
        _ask(args.text, args.lang, args.json)
        return 0
    if args.command == "communes":
        _communes_search(args.text, args.limit, args.json)
        return 0
    try:
        settings = load_settings()
        log_file = _log_file(settings, args.command)
        # A chat on standard error's terminal shows the conversation; routine log lines would
        # drown it. A log file takes them all.
        quiet = args.command == "chat" and log_file is None and "PCMT_LOG_LEVEL" not in os.environ
        logs.configure("WARNING" if quiet else settings.log_level, settings.log_format,
                       sensitive=settings.log_sensitive, secrets=_secrets(settings),
                       file=log_file)
        if log_file is not None and settings.log_file is None:
            print(f"pcmt-bot: log lines go to {log_file}", file=sys.stderr)
        if args.command in ("run", "chat"):
            check_admin_chat(settings, settings.channels)
        if args.command == "admin":
            return _admin(settings, args)
        action: Callable[[], Coroutine[Any, Any, None]]
        if args.command == "run":
            action = lambda: _run(settings, args.user)  # noqa: E731
        elif args.command == "chat":
            action = lambda: _chat(settings, args.user)  # noqa: E731
        else:
            action = lambda: _db_upgrade(settings)  # noqa: E731
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(action())
    except (ConfigError, StoreError) as exc:
        print(f"pcmt-bot: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    return 0


def _log_file(settings: Settings, command: str) -> Path | None:
    """Where log lines go instead of standard error: the configured file, or, when a person
    chats on this terminal, a file in the data directory, so no line lands in the chat."""
    if settings.log_file is not None:
        return settings.log_file
    console = command == "chat" or (command == "run" and not settings.messaging)
    if console and sys.stdin.isatty() and sys.stderr.isatty():
        return settings.data_dir / LOG_FILE
    return None


def _secrets(settings: Settings) -> list[str]:
    return [secret.get_secret_value()
            for secret in (settings.telegram_token, settings.zalo_bot_token,
                           settings.zalo_bot_webhook_secret, settings.zalo_oa_app_secret,
                           settings.zalo_oa_secret_key, settings.secret_key)
            if secret is not None]
