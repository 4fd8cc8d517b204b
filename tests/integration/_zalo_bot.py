"""A running Zalo Bot channel against the fake Zalo Bot API server: the bot's own aiohttp
client, a SQLite store with the official commune list, and the project's handlers."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bot.channels.zalo_bot import CHANNEL, SECRET_HEADER, WEBHOOK_PATH, ZaloBotChannel
from bot.conversation.dispatch import Dispatcher
from bot.services import Services
from bot.settings import Settings
from bot.store import Store, communes
from bot.web import WebServer
from handlers import routers
from scheduler.delivery import Delivery
from tests.conftest import FakeClock
from tests.fakes.zalo_bot_api import FakeZaloBotServer, SentRecord
from tests.integration._telegram import free_port

TOKEN = "1234567890:fake-zalo-secret"
_OPTION = re.compile(r"^(\d+)\. (.+)$", re.MULTILINE)


@dataclass
class RunningZalo:
    server: FakeZaloBotServer
    channel: ZaloBotChannel
    store: Store
    settings: Settings
    clock: FakeClock
    web: WebServer | None

    @property
    def webhook_url(self) -> str:
        assert self.web is not None
        return f"http://127.0.0.1:{self.web.port}{WEBHOOK_PATH}"

    def delivery(self, **channels: Any) -> Delivery:
        return Delivery(self.store, {CHANNEL: self.channel, **channels}, self.settings,
                        self.clock, self.channel.services.keyring)

    async def post(self, body: bytes | str | object, secret: str | None) -> int:
        """POST to the webhook as Zalo would (or as someone forging it); the status."""
        data = body if isinstance(body, bytes | str) else json.dumps(body)
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers[SECRET_HEADER] = secret
        async with aiohttp.ClientSession() as session, session.post(
                self.webhook_url, data=data, headers=headers) as reply:
            return reply.status

    async def healthz(self) -> tuple[int, dict[str, Any]]:
        assert self.web is not None
        async with aiohttp.ClientSession() as session, session.get(
                f"http://127.0.0.1:{self.web.port}/healthz") as reply:
            return reply.status, await reply.json()


def settings_for(tmp_path: Path, server: FakeZaloBotServer, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": f"sqlite+aiosqlite:///{tmp_path}/pcmt.db", "data_dir": tmp_path,
        "zalo_bot_token": TOKEN, "zalo_bot_base_url": server.base_url,
        "zalo_bot_timeout_seconds": 5.0, "zalo_bot_backoff_seconds": 0.05,
        "zalo_bot_backoff_max_seconds": 0.2, **overrides}
    return Settings(_env_file=None, **values)


@asynccontextmanager
async def running_zalo(tmp_path: Path, clock: FakeClock, *, webhook: bool = False,
                       web: bool = False, server: FakeZaloBotServer | None = None,
                       store: Store | None = None,
                       **overrides: Any) -> AsyncIterator[RunningZalo]:
    """The channel started against a fake server (its own unless ``server`` is given), with
    a web server for the webhook or (``web=True``) only for ``/healthz``."""
    async with AsyncExitStack() as stack:
        if server is None:
            server = await stack.enter_async_context(FakeZaloBotServer(TOKEN))
        site = None
        if webhook or web:
            port = free_port()
            overrides = {"web_port": port, **overrides}
            if webhook:
                overrides = {"public_url": f"http://127.0.0.1:{port}", **overrides}
        settings = settings_for(tmp_path, server, **overrides)
        if store is None:
            store = await Store.open(settings.database_url)
            stack.push_async_callback(store.close)
            async with store.transaction() as conn:
                await communes.sync(conn, *Services(settings).commune_list)
        dispatcher = Dispatcher(store, Services(settings), routers(), clock=clock)
        channel = ZaloBotChannel(dispatcher)
        dispatcher.register_channel(CHANNEL, channel.capabilities)  # as App.add_channel does
        if webhook or web:
            site = WebServer(store, "127.0.0.1", settings.web_port or 0)
            channel.install_routes(site)
            await site.start()
            stack.push_async_callback(site.stop)
        await stack.enter_async_context(channel)
        yield RunningZalo(server, channel, store, settings, clock, site)


def options(record: SentRecord) -> dict[str, str]:
    """The numbered options a message shows: label -> number."""
    return {label: number for number, label in _OPTION.findall(record.text or "")}


@dataclass
class ZaloPerson:
    """Someone in a private Zalo chat: each step queues an update at the fake server and
    waits for the messages the bot sends back."""

    server: FakeZaloBotServer
    chat_id: str
    display_name: str = "Lan"

    @property
    def received(self) -> list[SentRecord]:
        return self.server.messages_to(self.chat_id)

    @property
    def last(self) -> SentRecord:
        return self.received[-1]

    async def say(self, text: str, count: int = 1) -> list[SentRecord]:
        before = len(self.received)
        self.server.send_text(self.chat_id, text, display_name=self.display_name)
        await self.server.wait_for_messages(self.chat_id, before + count)
        return self.received[before:]

    async def choose(self, label: str, count: int = 1) -> list[SentRecord]:
        """Type the number shown with the newest option whose label contains ``label``."""
        for record in reversed(self.received):
            matching = [number for name, number in options(record).items() if label in name]
            if matching:
                return await self.say(matching[0], count)
        raise AssertionError(f"no option {label!r} shown")

    async def send_photo(self, jpeg: bytes, count: int = 1, **extra: Any) -> list[SentRecord]:
        before = len(self.received)
        self.server.send_photo(self.chat_id, jpeg, display_name=self.display_name, **extra)
        await self.server.wait_for_messages(self.chat_id, before + count)
        return self.received[before:]
