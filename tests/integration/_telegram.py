"""A running Telegram channel against the fake Bot API server: the bot as deployed, with the
real python-telegram-bot HTTP stack, a SQLite store and the project's handlers."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import select

from bot.channels.ratelimit import RateLimiter
from bot.channels.telegram import WEBHOOK_PATH, TelegramChannel
from bot.conversation.dispatch import Dispatcher
from bot.conversation.messages import Incoming
from bot.conversation.routing import Context, Router
from bot.services import Services
from bot.settings import Settings
from bot.store import Store
from bot.store.schema import identities, users
from bot.web import WebServer
from handlers import routers
from scheduler.delivery import Delivery
from tests.conftest import FakeClock
from tests.fakes.telegram_api import SECRET_HEADER, FakeTelegramServer

TOKEN = "123456:TEST-fake-token"
USERNAME = "pcmt_test_bot"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Running:
    server: FakeTelegramServer
    channel: TelegramChannel
    store: Store
    settings: Settings
    clock: FakeClock
    web: WebServer | None

    @property
    def webhook_url(self) -> str:
        assert self.web is not None
        return f"http://127.0.0.1:{self.web.port}{WEBHOOK_PATH}"

    def delivery(self) -> Delivery:
        return Delivery(self.store, {"telegram": self.channel}, self.settings, self.clock,
                        self.channel.services.keyring)

    async def post(self, body: bytes | str | dict[str, Any], secret: str | None) -> int:
        """POST to the webhook as Telegram would (or as someone forging it); the status."""
        data = body if isinstance(body, bytes | str) else json.dumps(body)
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers[SECRET_HEADER] = secret
        async with aiohttp.ClientSession() as session, session.post(
                self.webhook_url, data=data, headers=headers) as reply:
            return reply.status

    @property
    def secret(self) -> str:
        assert self.server.webhook is not None
        return str(self.server.webhook["secret_token"])

    async def unreachable(self, chat_id: int) -> bool:
        """Whether the user behind this Telegram chat is marked unreachable."""
        key = self.channel.services.pseudonyms.chat("telegram", str(chat_id))
        async with self.store.transaction() as conn:
            row = (await conn.execute(
                select(users.c.unreachable).join(identities, identities.c.user_id == users.c.id)
                .where(identities.c.channel == "telegram", identities.c.chat_key == key))).first()
        assert row is not None, "no such user"
        return bool(row.unreachable)


def settings_for(tmp_path: Path, server: FakeTelegramServer, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": f"sqlite+aiosqlite:///{tmp_path}/pcmt.db", "data_dir": tmp_path,
        "telegram_token": TOKEN, "telegram_base_url": server.base_url,
        "telegram_base_file_url": server.base_file_url, "telegram_timeout_seconds": 5.0,
        **overrides}
    return Settings(_env_file=None, **values)


@asynccontextmanager
async def running_bot(tmp_path: Path, clock: FakeClock, *, webhook: bool = False,
                      extra: Sequence[Router] = (), limiter: RateLimiter | None = None,
                      server: FakeTelegramServer | None = None,
                      **overrides: Any) -> AsyncIterator[Running]:
    """The channel started against a fake server (its own unless ``server`` is given)."""
    async with AsyncExitStack() as stack:
        if server is None:
            server = await stack.enter_async_context(FakeTelegramServer(TOKEN, USERNAME))
        web = None
        if webhook:
            port = free_port()
            overrides = {"public_url": f"http://127.0.0.1:{port}", "web_port": port, **overrides}
        settings = settings_for(tmp_path, server, **overrides)
        store = await Store.open(settings.database_url)
        stack.push_async_callback(store.close)
        dispatcher = Dispatcher(store, Services(settings), [*extra, *routers()], clock=clock)
        channel = TelegramChannel(dispatcher, limiter=limiter)
        if webhook:
            web = WebServer(store, "127.0.0.1", settings.web_port or 0)
            channel.install_routes(web)
            await web.start()
            stack.push_async_callback(web.stop)
        await stack.enter_async_context(channel)
        yield Running(server, channel, store, settings, clock, web)


def recorder(seen: list[Incoming], name: str = "recorder") -> Router:
    """A router that takes every free text, photo and location and says "ok"."""
    router = Router(name)

    @router.text
    async def record(ctx: Context) -> None:
        seen.append(ctx.incoming)
        ctx.reply("ok")

    return router
