"""The lifespan of a running bot: store, services, dispatcher, channels, scheduler, web server."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from types import TracebackType

from bot import logs
from bot.channels.base import Channel
from bot.conversation.dispatch import Dispatcher, utc_now
from bot.deadlines import ensure_defaults, places_of
from bot.errors import ConfigError, StoreError
from bot.security.keys import check_key
from bot.services import Services
from bot.settings import Settings
from bot.store import Store, communes
from bot.web import WebServer
from scheduler import appointments, checkins, deadlines, digest, escalation, retention
from scheduler.delivery import Delivery
from scheduler.runner import Job, Scheduler

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
        self.services = Services(settings)
        self._route_installers: list[Callable[[WebServer], None]] = []

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

        key = self.services.key  # a bad key must stop start-up, not the first report
        try:
            self._store = await Store.open(self.settings.database_url)
        except StoreError as exc:
            raise ConfigError("PCMT_DATABASE_URL", str(exc)) from exc
        try:
            await check_key(self._store, key, self.clock())
        except ConfigError:
            await self._store.close()
            raise
        async with self._store.transaction() as conn:
            await communes.sync(conn, *self.services.commune_list)
            await ensure_defaults(conn, places_of(*self.services.commune_list), self.clock())
        # Read and checked now, off the event loop: a broken file stops start-up instead of
        # the first question, and the first question does not wait a second for it.
        await asyncio.to_thread(lambda: self.services.knowledge)
        self._dispatcher = Dispatcher(self._store, self.services, routers(), clock=self.clock)

    def add_channel(self, channel: Channel) -> None:
        self.channels[channel.name] = channel
        self.dispatcher.register_channel(channel.name, channel.capabilities)

    def add_routes(self, install: Callable[[WebServer], None]) -> None:
        """Have ``install`` add routes (a channel's webhook) to the web server before it starts."""
        self._route_installers.append(install)

    async def start(self, *, schedule: bool = True) -> None:
        """Start delivery for the registered channels, the scheduler and the web server."""
        self._delivery = Delivery(self.store, self.channels, self.settings, self.clock,
                                  self.services.keyring)
        if schedule:
            await self._delivery.start()
            self._scheduler = Scheduler(self._jobs())
            await self._scheduler.start()
        if self.settings.web_port is not None:
            self.web = WebServer(self.store, self.settings.web_host, self.settings.web_port)
            for install in self._route_installers:
                install(self.web)
            await self.web.start()
        logs.event(log, "app.started", channels=",".join(self.channels) or "-",
                   database=self.store.dialect, web_port=self.web.port if self.web else "-")

    def _jobs(self) -> list[Job]:
        ticks = escalation.Escalation(self.store, self.services, self.clock)
        purge = retention.Retention(self.store, self.clock, self.settings)
        calendar = checkins.CheckinTick(self.store, self.services,
                                        self.dispatcher.routes.flows["checkin"], self.clock)
        reminders = deadlines.Deadlines(self.store, self.services, self.clock)
        appointed = appointments.AppointmentTick(self.store, self.services, self.clock)
        weekly = digest.WeeklyDigest(self.store, self.services, self.clock)
        return [Job("escalation", ticks.tick, escalation.INTERVAL_SECONDS),
                Job("retention", purge.tick, retention.INTERVAL_SECONDS),
                Job("checkins", calendar.tick, checkins.INTERVAL_SECONDS),
                Job("deadlines", reminders.tick, deadlines.INTERVAL_SECONDS),
                Job("appointments", appointed.tick, appointments.INTERVAL_SECONDS),
                Job("digest", weekly.tick, digest.INTERVAL_SECONDS)]

    async def stop(self) -> None:
        if self._scheduler is not None:
            await self._scheduler.stop()
        if self._delivery is not None:
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
