"""The conversation platform on both stores, through the report flow as citizens use it:
interruptions, expiry, restarts on a numbered channel, pushed messages, long lists."""

from __future__ import annotations

from bot.channels.console import CAPABILITIES as CONSOLE
from bot.conversation.i18n import gettext
from bot.conversation.messages import Option, Reply
from bot.security.identity import seal_at_rest
from bot.services import Services
from bot.settings import Settings
from bot.store import outbox
from tests.conftest import FakeClock, StoreFactory
from tests.harness import BEN_THANH, TICKET, Chat, RecordingChannel
from tests.world import World


def number_of(chat: Chat, prefix: str) -> str:
    """The number the console shows for the first option whose data starts with ``prefix``."""
    reply = chat.last
    for offset, option in enumerate(reply.options):
        if option.data.startswith(prefix):
            return str(reply.first_number + offset)
    raise AssertionError(f"no option {prefix!r} in {reply.options}")


async def test_another_routers_button_keeps_the_draft_and_the_question_is_answered(
        world: World) -> None:
    chat = world.citizen("701")
    await chat.press("report")
    await chat.press("rp:cat:dealing")
    [asked] = await chat.press("faq")  # an older "ask a question" button, higher in the chat
    assert "/resume" in asked.text
    [answer] = await chat.say("ma túy đá là gì")
    assert "methamphetamine" in answer.text.lower() and "rp:com:" not in str(answer.options)
    [resumed] = await chat.say("/resume")
    assert "xã" in resumed.text and any(o.data == "rp:provs" for o in resumed.options)
    await chat.say(BEN_THANH)
    await chat.press(chat.option("rp:com:"))
    assert "ở đâu" in chat.last.text.lower() or "địa điểm" in chat.last.text.lower()


async def test_starting_a_report_again_brings_back_the_kept_draft(
        world: World) -> None:
    chat = world.citizen("702")
    await chat.press("report")
    await chat.press("rp:cat:online")
    await chat.say("/help")
    [back] = await chat.press("report")
    assert "rp:provs" in str(back.options)  # the commune step, category kept


async def test_an_expired_draft_says_so_instead_of_answering_from_the_faq(
        world: World, settings: Settings, clock: FakeClock) -> None:
    chat = world.citizen("703")
    await chat.press("report")
    await chat.press("rp:cat:dealing")
    await chat.say(BEN_THANH)
    await chat.press(chat.option("rp:com:"))
    clock.advance(minutes=settings.conversation_ttl_minutes + 1)
    [reply] = await chat.say("Quán nước đầu hẻm 12")
    assert "hết hạn" in reply.text and "report" in [o.data for o in reply.options]


async def test_editing_a_field_before_the_commune_then_the_follow_up_button(
        world: World) -> None:
    chat = world.citizen("704")
    await chat.press("report")
    await chat.press("rp:cat:dealing")
    for press in ("rp:edit:description", "rp:fu:yes", "rp:fu:yes"):
        [reply] = await chat.press(press)
        assert "lỗi" not in reply.text.lower()
    assert "rp:provs" in str(chat.last.options)  # still asked for the commune, nothing lost


async def test_console_numbers_survive_a_restart_at_the_summary(
        store_factory: StoreFactory, services: Services, clock: FakeClock) -> None:
    world = await World.build(await store_factory.open(), services, clock)
    first = world.console("c1")
    await first.say(number_of(await _menu(first), "report"))
    await first.say(number_of(first, "rp:cat:dealing"))
    await first.say(BEN_THANH)
    await first.say(number_of(first, "rp:com:"))
    await first.say("Quán nước đầu hẻm 12")
    await first.say("Hai người đi xe máy giao gói nhỏ")
    await first.say(number_of(first, "rp:fu:no"))
    send = number_of(first, "rp:send")
    restarted = world.restarted(await store_factory.open()).console("c1")
    [sent] = await restarted.say(send)
    assert TICKET.search(sent.text), sent.text


async def _menu(chat: Chat) -> Chat:
    await chat.say("/start")
    return chat


async def test_a_pushed_message_does_not_change_what_the_next_number_means(
        world: World) -> None:
    store, services, clock = world.store, world.services, world.clock
    chat = world.console("c1")
    terminal = RecordingChannel("console", capabilities=CONSOLE)

    async def push(key: str) -> Reply:
        async with store.transaction() as conn:
            notice = Reply("Tin báo đã được tiếp nhận.", (Option("Xem", "st:AAAA-BBBB-CCCC"),))
            await outbox.enqueue(conn, channel="console",
                                 chat_id=seal_at_rest(services.keyring, "c1"),
                                 payload=seal_at_rest(services.keyring, notice.to_json()),
                                 dedupe_key=key, due_at=clock(), now=clock(),
                                 priority=outbox.ROUTED)
        await world.delivery(terminal).drain()
        return terminal.sent[-1][1]

    await chat.say("/start")
    report_number = number_of(chat, "report")
    pushed = await push("notice-1")
    assert pushed.first_number > len(chat.last.options)  # counts on from the menu on screen
    [reply] = await chat.say(report_number)
    assert "rp:cat:dealing" in str(reply.options)  # still the menu's "report"
    pushed = await push("notice-2")
    [status] = await chat.say(str(pushed.first_number))
    assert "AAAA-BBBB-CCCC" in status.text or "mã phiếu" in status.text.lower()


async def test_a_number_that_is_not_on_screen_gets_the_range(world: World) -> None:
    chat = world.console("c1")
    await chat.say("/start")
    [reply] = await chat.say("42")
    assert "42" in reply.text and f"1 đến {len(chat.replies[0].options)}" in reply.text


async def test_provinces_come_a_page_at_a_time_in_name_order(world: World) -> None:
    chat = world.citizen("705")
    await chat.press("report")
    await chat.press("rp:cat:dealing")
    [page] = await chat.press("rp:provs")
    assert len(page.options) <= 10
    names = [o.label for o in page.options if o.data.startswith("rp:prov:")]
    assert names[0] == "An Giang" and names == sorted(names, key=_folded)
    seen = list(names)
    while any(o.data.startswith("pg:") and "›" in o.label for o in chat.last.options):
        [page] = await chat.press(next(o.data for o in chat.last.options
                                       if o.data.startswith("pg:") and "›" in o.label))
        assert page.edit and len(page.options) <= 10
        seen += [o.label for o in page.options if o.data.startswith("rp:prov:")]
    assert len(seen) == 34 and "Hồ Chí Minh" in " ".join(seen)


def _folded(name: str) -> str:
    from bot.text import fold

    return fold(name)


async def test_a_name_shared_by_many_communes_lists_them_all(
        world: World) -> None:
    shared = world.services.communes.search("tan thanh", limit=40)
    assert len(shared) > 5
    chat = world.citizen("706")
    await chat.press("report")
    await chat.press("rp:cat:dealing")
    await chat.say("tan thanh")
    offered = [o.data for o in chat.last.options if o.data.startswith("rp:com:")]
    while any(o.data.startswith("pg:") and "›" in o.label for o in chat.last.options):
        await chat.press(next(o.data for o in chat.last.options
                              if o.data.startswith("pg:") and "›" in o.label))
        offered += [o.data for o in chat.last.options if o.data.startswith("rp:com:")]
        assert "rp:provs" in str(chat.last.options)  # kept on every page
    assert len(offered) == len(shared)


async def test_a_report_nobody_can_receive_yet_is_not_promised_to_the_police(
        world: World) -> None:
    from tests.harness import file_report

    chat = world.citizen("707")
    await file_report(chat)
    assert "chưa có công an" in chat.last.text.lower()
    assert "sẽ tiếp nhận và xác minh" not in chat.last.text


async def test_a_job_opens_a_flow_and_queues_its_first_prompt_in_one_transaction(
        world: World) -> None:
    from datetime import timedelta

    store, services, clock = world.store, world.services, world.clock

    from bot.conversation.proactive import open_flow
    from bot.store import users
    from handlers.status import STATUS

    chat = world.citizen("708")
    await chat.say("/start")
    async with store.transaction() as conn:
        pseudonyms = services.pseudonyms
        user = await users.resolve(conn, "telegram", pseudonyms.user("telegram", "708"),
                                   pseudonyms.chat("telegram", "708"), clock())
        assert await open_flow(conn, services, STATUS, user=user, channel="telegram",
                               chat_id="708", language="vi", dedupe_key="job-1", now=clock(),
                               ttl=timedelta(hours=1))
        assert not await open_flow(conn, services, STATUS, user=user, channel="telegram",
                                   chat_id="708", language="vi", dedupe_key="job-1",
                                   now=clock(), ttl=timedelta(hours=1))
    phone = RecordingChannel("telegram")
    await world.delivery(phone).drain()
    assert phone.texts_to("708") == [gettext("status.ask_ticket")]
    [reply] = await chat.say("AAAA-BBBB-CCCC")  # answered by the opened flow, not the FAQ
    assert reply.text == gettext("status.not_found")
