"""Two replicas on one PostgreSQL database taking alternate messages of the same people: the
conversation each reads is the one the other just wrote."""

from __future__ import annotations

import asyncio

import pytest

from bot.conversation.dispatch import Dispatcher
from bot.conversation.flows import Flow
from bot.conversation.messages import Incoming
from bot.conversation.routing import Context, Router
from bot.services import Services
from handlers import routers
from tests.conftest import FakeClock, StoreFactory

pytestmark = pytest.mark.postgres
WORDS = ("một", "hai", "ba", "bốn", "năm", "sáu")


def _collecting() -> Router:
    """A flow that keeps every word it is told, slowly: a second replica's message for the
    same person arrives while the first still holds the lock."""
    router = Router("collecting")
    flow = router.flow(Flow("collecting"))

    @router.command("collect")
    async def begin(ctx: Context) -> None:
        flow.begin(ctx, words=[])

    @flow.step("word")
    def ask(ctx: Context) -> None:
        ctx.reply("?")

    @flow.on_text("word")
    async def word(ctx: Context, text: str) -> None:
        assert ctx.state is not None
        await asyncio.sleep(0.15)
        ctx.state.data["words"] = [*ctx.state.data["words"], text]
        ctx.reply(" ".join(ctx.state.data["words"]))

    return router


@pytest.mark.parametrize("store_factory", ["postgres"], indirect=True)
async def test_alternate_replicas_keep_every_conversation_whole(
        store_factory: StoreFactory, services: Services, clock: FakeClock) -> None:
    replicas = [Dispatcher(await store_factory.open(), Services(services.settings),
                           [_collecting(), *routers()], clock=clock) for _ in range(2)]
    people = [f"r{number}" for number in range(12)]

    async def converse(person: str) -> str:
        def said(text: str) -> Incoming:
            return Incoming.from_text("telegram", person, person, text)

        await replicas[0].handle(said("/collect"))
        sent = []
        for turn, word in enumerate(WORDS):
            # the next message leaves before the last is answered, to the other replica
            sent.append(asyncio.create_task(replicas[(turn + 1) % 2].handle(said(word))))
            await asyncio.sleep(0.03)
        answers = await asyncio.gather(*sent)
        return max((reply.text for replies in answers for reply in replies), key=len)

    heard = await asyncio.gather(*(converse(person) for person in people))
    # lock waiters may be served out of order; what must not happen is a word lost
    assert [sorted(words.split()) for words in heard] == [sorted(WORDS)] * len(people)
