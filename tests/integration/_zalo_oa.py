"""A running Zalo OA channel against the fake OA platform: the bot's own aiohttp client, its
webhook on a real web server, a store with the official commune list, and the project's
handlers. The OA is connected first, as ``pcmt-bot admin zalo-oa connect`` does."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bot.channels.zalo_oa import CHANNEL, WEBHOOK_PATH, ZaloOaChannel
from bot.channels.zalo_oa._oa_client import OaClient
from bot.channels.zalo_oa._tokens import Tokens
from bot.conversation.dispatch import Dispatcher
from bot.services import Services
from bot.settings import Settings
from bot.store import Store, communes
from bot.web import WebServer
from handlers import routers
from scheduler.delivery import Delivery
from tests.conftest import FakeClock
from tests.fakes.zalo_oa_api import APP_ID, APP_SECRET, SECRET_KEY, FakeZaloOaServer, SentMessage
from tests.integration._telegram import free_port

NEXT_PAGE = "Trang sau ›"


@dataclass
class RunningOa:
    server: FakeZaloOaServer
    channel: ZaloOaChannel
    store: Store
    settings: Settings
    clock: FakeClock
    web: WebServer
    other: Any = None

    def delivery(self, **channels: Any) -> Delivery:
        return Delivery(self.store, {CHANNEL: self.channel, **channels}, self.settings,
                        self.clock, self.channel.services.keyring)

    async def healthz(self) -> tuple[int, dict[str, Any]]:
        async with aiohttp.ClientSession() as session, session.get(
                f"http://127.0.0.1:{self.web.port}/healthz") as reply:
            return reply.status, await reply.json()


def settings_for(tmp_path: Path, server: FakeZaloOaServer, **overrides: Any) -> Settings:
    port = free_port()
    values: dict[str, Any] = {
        "database_url": f"sqlite+aiosqlite:///{tmp_path}/pcmt.db", "data_dir": tmp_path,
        "zalo_oa_app_id": APP_ID, "zalo_oa_app_secret": APP_SECRET,
        "zalo_oa_secret_key": SECRET_KEY, "zalo_oa_api_url": server.origin,
        "zalo_oa_oauth_url": server.origin, "zalo_oa_timeout_seconds": 5.0,
        "public_url": f"http://127.0.0.1:{port}", "web_port": port, **overrides}
    return Settings(_env_file=None, **values)


def oauth_client(settings: Settings) -> OaClient:
    assert settings.zalo_oa_app_id is not None and settings.zalo_oa_app_secret is not None
    return OaClient(api_url=settings.zalo_oa_api_url, oauth_url=settings.zalo_oa_oauth_url,
                    app_id=settings.zalo_oa_app_id,
                    app_secret=settings.zalo_oa_app_secret.get_secret_value(), timeout=5.0,
                    connections=1)


async def connect(store: Store, settings: Settings, server: FakeZaloOaServer,
                  clock: FakeClock) -> None:
    """What ``pcmt-bot admin zalo-oa connect`` does with a token from the consent."""
    client = oauth_client(settings)
    await client.open()
    try:
        await Tokens(store, Services(settings).keyring, client, clock).connect(
            server.issue_refresh_token())
    finally:
        await client.close()


@asynccontextmanager
async def running_oa(tmp_path: Path, clock: FakeClock, *, server: FakeZaloOaServer | None = None,
                     store: Store | None = None, connected: bool = True,
                     beside: Callable[[Dispatcher], Any] | None = None,
                     **overrides: Any) -> AsyncIterator[RunningOa]:
    """The channel started against a fake platform (its own unless ``server`` is given);
    ``beside`` makes another channel on the same dispatcher and web server (Telegram), in
    ``RunningOa.others``."""
    async with AsyncExitStack() as stack:
        if server is None:
            server = await stack.enter_async_context(FakeZaloOaServer(clock=clock))
        settings = settings_for(tmp_path, server, **overrides)
        if store is None:
            store = await Store.open(settings.database_url)
            stack.push_async_callback(store.close)
            async with store.transaction() as conn:
                await communes.sync(conn, *Services(settings).commune_list)
        if connected:
            await connect(store, settings, server, clock)
        dispatcher = Dispatcher(store, Services(settings), routers(), clock=clock)
        channel = ZaloOaChannel(dispatcher, clock=clock)
        dispatcher.register_channel(CHANNEL, channel.capabilities)  # as App.add_channel does
        site = WebServer(store, "127.0.0.1", settings.web_port or 0)
        channel.install_routes(site)
        other = beside(dispatcher) if beside is not None else None
        if other is not None:
            dispatcher.register_channel(other.name, other.capabilities)
            other.install_routes(site)
        await site.start()
        stack.push_async_callback(site.stop)
        await stack.enter_async_context(channel)
        if other is not None:
            await stack.enter_async_context(other)
        server.webhook_url = f"http://127.0.0.1:{site.port}{WEBHOOK_PATH}"
        yield RunningOa(server, channel, store, settings, clock, site, other)


@dataclass
class OaPerson:
    """A follower of the OA: each step is a signed webhook delivery, then a wait for the
    messages the bot sends back."""

    server: FakeZaloOaServer
    user_id: str

    @property
    def received(self) -> list[SentMessage]:
        return self.server.messages_to(self.user_id)

    async def say(self, text: str, count: int = 1) -> list[SentMessage]:
        before = len(self.received)
        assert await self.server.send_text(self.user_id, text) == 200
        await self.server.wait_for_messages(self.user_id, before + count)
        return self.received[before:]

    async def tap(self, label: str, count: int = 1) -> list[SentMessage]:
        """Tap the newest button whose title contains ``label``, turning pages to find it."""
        for _ in range(10):
            newest = next(message for message in reversed(self.received) if message.buttons)
            for button in newest.buttons:
                if label in button["title"]:
                    return await self._tap(button, count)
            turn = [button for button in newest.buttons if button["title"] == NEXT_PAGE]
            if not turn:
                break
            await self._tap(turn[0], 1)
        raise AssertionError(f"no button {label!r} shown")

    async def _tap(self, button: dict[str, str], count: int) -> list[SentMessage]:
        before = len(self.received)
        assert await self.server.tap(self.user_id, button) == 200
        await self.server.wait_for_messages(self.user_id, before + count)
        return self.received[before:]

    async def send_photo(self, jpeg: bytes, count: int = 1) -> list[SentMessage]:
        before = len(self.received)
        assert await self.server.send_image(self.user_id, self.server.photo_url(jpeg)) == 200
        await self.server.wait_for_messages(self.user_id, before + count)
        return self.received[before:]
