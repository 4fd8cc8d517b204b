"""The ticket names a report, police see it; reading police questions and writing to them
takes the passphrase too, or a button the bot sent to the reporter's own chat."""

from __future__ import annotations

from sqlalchemy import update

from bot.reports import relay_to_reporter, seal_text
from bot.reports.access import access_key
from bot.services import Services
from bot.store import Store, reports
from bot.store.schema import reports as reports_table
from handlers.status import FAILED_UNLOCKS_PER_DAY
from tests.conftest import FakeClock
from tests.harness import Chat, RecordingChannel, file_report
from tests.integration.test_reports import link_police
from tests.world import World

QUESTION = "Họ thường đến lúc mấy giờ?"


async def _asked(world: World, ticket: str) -> None:
    """Police ask the reporter a question, and it is relayed to the reporter's chat."""
    async with world.store.transaction() as conn:
        report = await reports.by_ticket(conn, ticket)
        assert report is not None
        await reports.add_message(conn, report.id, kind="question", author="user:1",
                                  body=seal_text(world.services.keyring, ticket, QUESTION),
                                  now=world.clock())
        await relay_to_reporter(conn, report, keyring=world.services.keyring,
                                text_id="reporter.question", dedupe="q1", now=world.clock(),
                                question=QUESTION)


async def _reported_and_asked(world: World, user_id: str) -> tuple[Chat, str]:
    """A report filed by ``user_id`` to a linked commune, and a police question about it."""
    await link_police(world.store, world.services, world.clock)
    reporter = world.citizen(user_id)
    ticket = await file_report(reporter)
    await _asked(world, ticket)
    return reporter, ticket


def _writes_back(chat: Chat) -> bool:
    return any(":info:" in option.data or ":answer:" in option.data
               for option in chat.last.options)


async def test_the_ticket_alone_shows_the_status_and_nothing_more(world: World) -> None:
    _reporter, ticket = await _reported_and_asked(world, "reporter")
    stranger = world.citizen("holder-of-the-ticket")
    await stranger.say(f"/status {ticket}")
    assert ticket in stranger.last.text and "🔒" in stranger.last.text
    assert QUESTION not in stranger.last.text and not _writes_back(stranger)
    await stranger.press(f"st:{ticket}:info")
    await stranger.press(f"st:{ticket}:info:{'x' * 16}")
    assert not _writes_back(stranger) and stranger.last.text.startswith("Tin báo")
    await stranger.say("Công an ơi, tôi là người báo tin")  # no flow took them: an FAQ answer
    police = RecordingChannel("police")
    await world.delivery(police).drain()
    assert not any("người báo tin" in text for text in police.texts_to("inbox-1"))


async def test_ticket_and_passphrase_read_questions_and_write_to_police(world: World) -> None:
    reporter, ticket = await _reported_and_asked(world, "reporter")
    elsewhere = world.citizen("the-reporter-on-another-phone")
    await elsewhere.say(f"/status {ticket.lower()} {reporter.passphrase.replace('-', ' ')}")
    assert QUESTION in elsewhere.last.text
    await elsewhere.press(elsewhere.option(f"st:{ticket}:answer"))
    await elsewhere.say("Khoảng 9 giờ tối")
    police = RecordingChannel("police")
    await world.delivery(police).drain()
    assert any("Khoảng 9 giờ tối" in text for text in police.texts_to("inbox-1"))


async def test_guessing_the_passphrase_stops_after_a_few_tries_a_day(
        world: World, store: Store, services: Services, clock: FakeClock) -> None:
    reporter = world.citizen("reporter")
    ticket = await file_report(reporter)
    guesser = world.citizen("guesser")
    for _ in range(FAILED_UNLOCKS_PER_DAY):
        await guesser.say(f"/status {ticket} AAAA-AAAA")
        assert "không đúng" in guesser.last.text and not _writes_back(guesser)
    await guesser.say(f"/status {ticket} {reporter.passphrase}")
    assert not _writes_back(guesser), "the right passphrase is not checked after the limit"
    clock.advance(days=1, minutes=1)
    await guesser.say(f"/status {ticket} {reporter.passphrase}")
    assert _writes_back(guesser)


async def test_the_reporters_own_chat_gets_buttons_that_open_the_report(
        world: World, services: Services) -> None:
    reporter, ticket = await _reported_and_asked(world, "987650001")
    telegram, police = RecordingChannel("telegram"), RecordingChannel("police")
    await world.delivery(telegram, police).drain()
    [(_chat, relayed)] = telegram.sent
    await reporter.press(relayed.options[0].data)
    assert QUESTION in reporter.last.text and _writes_back(reporter)
    key = access_key(services.keyring, ticket)
    for _chat, reply in police.sent:  # nothing police get can open the report
        assert key not in reply.text and reporter.passphrase not in reply.text
        assert not any(key in option.data for option in reply.options)


async def test_a_ticket_from_before_passphrases_stays_read_only(
        world: World, store: Store, services: Services, clock: FakeClock) -> None:
    await link_police(store, services, clock)
    reporter = world.citizen("987650001")
    ticket = await file_report(reporter)
    async with store.transaction() as conn:
        await conn.execute(update(reports_table).values(passphrase_hash=None))
    await reporter.say(f"/status {ticket} {reporter.passphrase}")
    assert ticket in reporter.last.text and not _writes_back(reporter)
    assert "trước khi có mật khẩu" in reporter.last.text
    await _asked(world, ticket)  # the way back through the reporter's chat still works
    telegram, police = RecordingChannel("telegram"), RecordingChannel("police")
    await world.delivery(telegram, police).drain()
    [(_chat, relayed)] = telegram.sent
    await reporter.press(relayed.options[0].data)
    assert QUESTION in reporter.last.text and _writes_back(reporter)
