"""The lifespan of a running bot: store, services, dispatcher, channels, scheduler, web server."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from types import TracebackType

from bot import logs
from bot.channels.base import Channel
from bot.dispatch import Dispatcher, utc_now
from bot.errors import ConfigError, StoreError
from bot.services import Services
from bot.settings import Settings
from bot.store import Store
from bot.web import WebServer
from scheduler.delivery import Delivery
from scheduler.runner import Scheduler

log = logging.getLogger(__name__)


class App:
    """``async with App(settings) as app:`` opens everything; leaving closes it in reverse."""

    def __init__(self, settings: Settings, *, clock: Callable[[], datetime] = utc_now) -> None:
        self.settings = settings
        self.clock = clock
        self.channels: dict[str, Channel] = {}
        self._store: Store | None = None
        self._dispatcher: Dispatcher | None = None
        self._delivery: Delivery | None = None
        self._scheduler: Scheduler | None = None
        self.web: WebServer | None = None

    @property
    def store(self) -> Store:
        assert self._store is not None, "App.initialize() first"
        return self._store

    @property
    def dispatcher(self) -> Dispatcher:
        assert self._dispatcher is not None, "App.initialize() first"
        return self._dispatcher

    @property
    def delivery(self) -> Delivery:
        assert self._delivery is not None, "App.start() first"
        return self._delivery

    async def initialize(self) -> None:
        from handlers import routers

        try:
            self._store = await Store.open(self.settings.database_url)
        except StoreError as exc:
            raise ConfigError("PCMT_DATABASE_URL", str(exc)) from exc
        services = Services(self.settings)
        self._dispatcher = Dispatcher(self._store, services, routers(), clock=self.clock)

    def add_channel(self, channel: Channel) -> None:
        self.channels[channel.name] = channel

    async def start(self, *, schedule: bool = True) -> None:
        """Start delivery for the registered channels, the scheduler and the web server."""
        self._delivery = Delivery(self.store, self.channels, self.settings, self.clock)
        if schedule:
            self._scheduler = Scheduler(self._delivery, self.settings)
            await self._scheduler.start()
        if self.settings.web_port is not None:
            self.web = WebServer(self.store, self.settings.web_host, self.settings.web_port)
            await self.web.start()
        logs.event(log, "app.started", channels=",".join(self.channels) or "-",
                   database=self.store.dialect, web_port=self.web.port if self.web else "-")

    async def stop(self) -> None:
        if self._scheduler is not None:
            await self._scheduler.stop()
        elif self._delivery is not None:
            await self._delivery.stop()
        if self.web is not None:
            await self.web.stop()
        if self._store is not None:
            await self._store.close()
        logs.event(log, "app.stopped")

    async def __aenter__(self) -> App:
        await self.initialize()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.stop()
