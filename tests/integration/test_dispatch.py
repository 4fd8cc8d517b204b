"""The dispatcher on both stores: greeting, language, and state that survives a restart."""

from __future__ import annotations

from bot.conversation.dispatch import Dispatcher
from bot.conversation.flows import Flow
from bot.conversation.messages import ChatKind, Incoming
from bot.conversation.routing import Context, Router
from bot.services import Services
from bot.settings import Settings
from bot.store import Store
from handlers import routers
from tests.conftest import FakeClock, StoreFactory


def _dispatcher(store: Store, settings: Settings, clock: FakeClock,
                extra: list[Router] | None = None) -> Dispatcher:
    return Dispatcher(store, Services(settings), [*(extra or []), *routers()], clock=clock)


def said(user: str, text: str, chat_kind: ChatKind = ChatKind.PRIVATE) -> Incoming:
    return Incoming.from_text("console", user, user, text, chat_kind=chat_kind)


async def test_start_greets_in_vietnamese_with_the_menu(store: Store, settings: Settings,
                                                        clock: FakeClock) -> None:
    replies = await _dispatcher(store, settings, clock).handle(said("a", "/start"))
    assert "Xin chào" in replies[0].text
    assert [option.data for option in replies[0].options] == ["faq", "report", "status", "lang:en"]


async def test_language_choice_is_kept_across_restarts(store_factory: StoreFactory,
                                                       settings: Settings,
                                                       clock: FakeClock) -> None:
    first = _dispatcher(await store_factory.open(), settings, clock)
    assert "English" in (await first.handle(said("b", "/lang en")))[0].text
    restarted = _dispatcher(await store_factory.open(), settings, clock)
    reply = (await restarted.handle(said("b", "/start")))[0]
    assert reply.text.startswith("Hello")
    labels = " ".join(option.label for option in reply.options)
    assert "question" in labels and "report" in labels


async def test_language_button_switches_back(store: Store, settings: Settings,
                                             clock: FakeClock) -> None:
    dispatcher = _dispatcher(store, settings, clock)
    await dispatcher.handle(said("c", "/lang en"))
    reply = (await dispatcher.handle(Incoming("console", "c", "c", choice="lang:vi")))[0]
    assert reply.text == "Đã chuyển sang tiếng Việt."


def _counting_flow() -> Router:
    """A three-step flow that remembers what it was told, to test the state machinery."""
    router = Router("counting")
    flow = router.flow(Flow("counting"))

    @router.command("count")
    async def begin(ctx: Context) -> None:
        flow.begin(ctx)

    @flow.step("first", fills="first")
    def ask_first(ctx: Context) -> None:
        ctx.reply("first?")

    @flow.step("second")
    def ask_second(ctx: Context) -> None:
        ctx.reply("second?")

    @flow.on_text("first")
    async def first(ctx: Context, text: str) -> None:
        assert ctx.state is not None
        ctx.state.data["first"] = text
        flow.advance(ctx)

    @flow.on_text("second")
    async def second(ctx: Context, text: str) -> None:
        assert ctx.state is not None
        ctx.reply(f"{ctx.state.data['first']}+{text}")
        ctx.finish()

    return router


async def test_conversation_continues_after_a_restart_mid_flow(store_factory: StoreFactory,
                                                               settings: Settings,
                                                               clock: FakeClock) -> None:
    before = _dispatcher(await store_factory.open(), settings, clock, [_counting_flow()])
    await before.handle(said("d", "/count"))
    await before.handle(said("d", "một"))
    after = _dispatcher(await store_factory.open(), settings, clock, [_counting_flow()])
    assert (await after.handle(said("d", "hai")))[0].text == "một+hai"


async def test_cancel_ends_the_flow(store: Store, settings: Settings, clock: FakeClock) -> None:
    dispatcher = _dispatcher(store, settings, clock, [_counting_flow()])
    await dispatcher.handle(said("e", "/count"))
    assert (await dispatcher.handle(said("e", "/cancel")))[0].text.startswith("Đã hủy")
    assert (await dispatcher.handle(said("e", "/cancel")))[0].text.startswith("Không có việc")


async def test_expired_flow_starts_afresh(store: Store, settings: Settings,
                                          clock: FakeClock) -> None:
    dispatcher = _dispatcher(store, settings, clock, [_counting_flow()])
    await dispatcher.handle(said("f", "/count"))
    clock.advance(minutes=settings.conversation_ttl_minutes + 1)
    replies = await dispatcher.handle(said("f", "/cancel"))
    assert replies[0].text.startswith("Không có việc")


async def test_groups_only_hear_commands(store: Store, settings: Settings,
                                         clock: FakeClock) -> None:
    dispatcher = _dispatcher(store, settings, clock)
    assert await dispatcher.handle(said("g", "xin chào mọi người", ChatKind.GROUP)) == []
    assert await dispatcher.handle(said("g", "/help@pcmt_bot", ChatKind.GROUP))


async def test_unknown_command_and_stale_button(store: Store, settings: Settings,
                                                clock: FakeClock) -> None:
    dispatcher = _dispatcher(store, settings, clock)
    assert "/help" in (await dispatcher.handle(said("h", "/nonsense")))[0].text
    stale = await dispatcher.handle(Incoming("console", "h", "h", choice="zz:1"))
    assert "/menu" in stale[0].text


async def test_a_failing_handler_answers_politely_and_writes_nothing(
        store: Store, settings: Settings, clock: FakeClock) -> None:
    router = Router("broken")

    @router.command("boom")
    async def boom(ctx: Context) -> None:
        ctx.begin("broken", "x")
        raise RuntimeError("bug")

    dispatcher = _dispatcher(store, settings, clock, [router])
    assert "lỗi" in (await dispatcher.handle(said("i", "/boom")))[0].text
    assert "Không có việc" in (await dispatcher.handle(said("i", "/cancel")))[0].text


async def test_oversized_text_is_cut_before_handlers_see_it(store: Store, settings: Settings,
                                                            clock: FakeClock) -> None:
    seen: list[int] = []
    router = Router("measure")

    @router.text
    async def measure(ctx: Context) -> None:
        seen.append(len(ctx.incoming.text or ""))

    await _dispatcher(store, settings, clock, [router]).handle(said("j", "x\x00" * 10_000))
    assert seen == [4000]


async def test_a_delivery_recorded_by_another_replica_gets_no_replies(
        store_factory: StoreFactory, settings: Settings, clock: FakeClock) -> None:
    first = _dispatcher(await store_factory.open(), settings, clock)
    second = _dispatcher(await store_factory.open(), settings, clock)
    assert await first.handle(said("r", "/lang en"), update_id=41)
    assert await second.handle(said("r", "/lang vi"), update_id=41) == []
    assert (await second.handle(said("r", "/start"), update_id=42))[0].text.startswith("Hello")
