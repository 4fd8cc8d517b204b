"""The shared test world: a store (SQLite or PostgreSQL, from the ``store`` fixture), the
services, a fake clock, the dispatcher with every router, and delivery through recording
channels. Integration tests build on :class:`World` instead of wiring these themselves."""

from __future__ import annotations

from dataclasses import dataclass

from bot.channels.console import CAPABILITIES as CONSOLE
from bot.conversation.dispatch import Dispatcher
from bot.services import Services
from bot.store import Store, communes
from handlers import routers
from scheduler.delivery import Delivery
from tests.conftest import FakeClock
from tests.harness import Chat, RecordingChannel


@dataclass
class World:
    store: Store
    services: Services
    clock: FakeClock
    dispatcher: Dispatcher

    @classmethod
    async def build(cls, store: Store, services: Services, clock: FakeClock) -> World:
        async with store.transaction() as conn:
            await communes.sync(conn, *services.commune_list)
        return cls(store, services, clock, Dispatcher(store, services, routers(), clock=clock))

    def citizen(self, user_id: str, channel: str = "telegram") -> Chat:
        return Chat(self.dispatcher, channel, user_id)

    def console(self, user_id: str) -> Chat:
        """A person on the numbered console channel."""
        self.dispatcher.register_channel("console", CONSOLE)
        return Chat(self.dispatcher, "console", user_id)

    def restarted(self, store: Store) -> World:
        """The same world after a restart: new process state on ``store``."""
        services = Services(self.services.settings)
        world = World(store, services, self.clock,
                      Dispatcher(store, services, routers(), clock=self.clock))
        world.dispatcher.channels.update(self.dispatcher.channels)
        return world

    def delivery(self, *channels: RecordingChannel) -> Delivery:
        return Delivery(self.store, {c.name: c for c in channels}, self.services.settings,
                        self.clock, self.services.keyring)
