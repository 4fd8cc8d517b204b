"""The fake Telegram Bot API, driven through python-telegram-bot's real HTTP stack."""

from __future__ import annotations

import asyncio
import io
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, RetryAfter, TimedOut
from telegram.ext import Application, CommandHandler, ContextTypes

from tests.fakes.images import jpeg_with_metadata
from tests.fakes.telegram_api import FakeTelegramServer, RateLimits, parse_html

TOKEN = "123:ABC"


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer(token=TOKEN, bot_username="pcmt_test_bot") as fake:
        yield fake


@pytest.fixture
async def bot(server: FakeTelegramServer) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=server.base_url, base_file_url=server.base_file_url) as tg:
        yield tg


@asynccontextmanager
async def webhook_receiver(
        receive: Callable[[web.Request], Awaitable[web.Response]]) -> AsyncIterator[str]:
    """A web server on loopback that answers webhook posts with ``receive``; yields its URL."""
    app = web.Application()
    app.router.add_post("/hook", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    await web.SockSite(runner, sock).start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
    finally:
        await runner.cleanup()


def keyboard(data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton("Có", callback_data=data)]])


async def test_get_me_and_wrong_token(server: FakeTelegramServer, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (123, "pcmt_test_bot", True)
    stranger = Bot("999:XYZ", base_url=server.base_url)
    try:
        with pytest.raises(InvalidToken, match="rejected by the server"):
            await stranger.initialize()
    finally:
        await stranger.shutdown()


async def test_send_message_is_recorded_and_echoed(server: FakeTelegramServer, bot: Bot) -> None:
    first = await bot.send_message(42, "<b>Xin chào</b> &amp; chào", parse_mode="HTML",
                                   reply_markup=keyboard("yes"))
    second = await bot.send_message(43, "Tạm biệt")
    assert first.text == "Xin chào & chào"
    assert first.from_user is not None and first.from_user.username == "pcmt_test_bot"
    assert first.reply_markup == keyboard("yes")
    assert (first.message_id, second.message_id, first.chat.type) == (1, 1, "private")
    [record] = server.messages_to(42)
    assert (record.method, record.text, record.parse_mode) == (
        "sendMessage", "<b>Xin chào</b> &amp; chào", "HTML")
    assert record.reply_markup == {"inline_keyboard": [[{"text": "Có", "callback_data": "yes"}]]}
    edited = await bot.edit_message_text("Đã chọn", chat_id=42, message_id=first.message_id)
    assert isinstance(edited, Message)
    assert edited.text == "Đã chọn" and edited.reply_markup is None
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("Đã chọn", chat_id=42, message_id=first.message_id)


async def test_long_poll_returns_as_soon_as_an_update_is_queued(
        server: FakeTelegramServer, bot: Bot) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.05)
    server.send_text(7, "/start enrol-AB12", username="lan_test")
    [update] = await asyncio.wait_for(poll, 2)
    assert loop.time() - started < 1
    assert update.message is not None and update.message.text == "/start enrol-AB12"
    assert update.message.entities[0].type == "bot_command"
    assert update.message.entities[0].length == len("/start")
    assert await bot.get_updates(offset=update.update_id + 1, timeout=0) == ()
    assert await bot.get_updates(timeout=0) == ()  # confirmed, not redelivered


async def test_button_press_and_answer(server: FakeTelegramServer, bot: Bot) -> None:
    sent = await bot.send_message(8, "Chọn", reply_markup=keyboard("pick:1"))
    server.press_button(8, sent.message_id, "pick:1")
    [update] = await bot.get_updates(allowed_updates=["callback_query"])
    query = update.callback_query
    assert query is not None and query.data == "pick:1"
    assert query.message is not None and query.message.message_id == sent.message_id
    assert await bot.answer_callback_query(query.id, text="OK")
    assert server.answered_callbacks[0]["text"] == "OK"
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query(query.id)


async def test_allowed_updates_filter_later_updates(server: FakeTelegramServer, bot: Bot) -> None:
    await bot.get_updates(allowed_updates=["callback_query"])
    server.send_text(9, "lọc bỏ")
    assert await bot.get_updates() == ()


async def test_injected_faults_surface_as_ptb_errors(server: FakeTelegramServer, bot: Bot) -> None:
    server.fail_next("sendMessage", 429, retry_after=3)
    with pytest.raises(RetryAfter, match="Retry in 3"):
        await bot.send_message(10, "một")
    server.fail_next("sendmessage", 500, count=2)
    for _ in range(2):
        with pytest.raises(Exception, match="Internal Server Error"):
            await bot.send_message(10, "hai")
    await bot.send_message(10, "ba")
    assert [status for method, status in server.calls if method == "sendMessage"] == [
        429, 500, 500, 200]
    assert server.rate_limit_violations == 0


async def test_slow_replies_time_out(server: FakeTelegramServer, bot: Bot) -> None:
    server.delay("sendMessage", 0.3)
    with pytest.raises(TimedOut):
        await bot.send_message(11, "chậm", read_timeout=0.05)


async def test_blocked_and_missing_chats() -> None:
    async with FakeTelegramServer(TOKEN, missing_chats={404}) as fake, Bot(
            TOKEN, base_url=fake.base_url) as tg:
        fake.my_chat_member(12, new_status="kicked")
        with pytest.raises(Forbidden, match=r"(?i)bot was blocked by the user"):
            await tg.send_message(12, "xin chào")
        with pytest.raises(BadRequest, match=r"(?i)chat not found"):
            await tg.send_message(404, "xin chào")
        fake.my_chat_member(12, new_status="member")
        await tg.send_message(12, "xin chào")


# PTB capitalises descriptions ("Bad Request: BUTTON_DATA_INVALID" -> "Button_data_invalid").
@pytest.mark.parametrize(("text", "parse_mode", "error"), [
    ("x" * 4097, None, "message is too long"),
    ("   ", None, "message text is empty"),
    ("<b>đậm", "HTML", "Can't find end tag"),
    ("<b><i>x</b></i>", "HTML", "Unmatched end tag"),
    ("<div>x</div>", "HTML", "Unsupported start tag \"div\""),
    ("1 < 2", "HTML", "Unsupported start tag"),
    ("A & B", "HTML", "character entity"),
    ("x > y", "HTML", "Unexpected \">\""),
])
async def test_invalid_text_is_a_bad_request(bot: Bot, text: str, parse_mode: str | None,
                                             error: str) -> None:
    with pytest.raises(BadRequest, match=r"(?i)" + error):
        await bot.send_message(13, text, parse_mode=parse_mode)


async def test_long_callback_data_is_rejected(server: FakeTelegramServer, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(14, "Chọn", reply_markup=keyboard("đ" * 33))
    assert server.sent == []


def test_html_allowed_tags() -> None:
    assert parse_html('<a href="https://example.org">x</a> <span class="tg-spoiler">y</span>'
                      " <tg-spoiler>z</tg-spoiler> <pre><code>&lt;1&gt;</code></pre>") == (
        "x y z <1>")


async def test_private_chat_rate_limit_is_detected(server: FakeTelegramServer, bot: Bot) -> None:
    await bot.send_message(15, "một")
    with pytest.raises(RetryAfter):
        await bot.send_message(15, "hai")
    assert server.rate_limit_violations == 1
    assert len(server.messages_to(15)) == 1


async def test_group_limit_uses_a_sliding_window() -> None:
    now = [1000.0]
    limits = RateLimits(group_per_minute=2)
    async with FakeTelegramServer(TOKEN, rate_limits=limits, clock=lambda: now[0]) as fake:
        async with Bot(TOKEN, base_url=fake.base_url) as tg:
            for _ in range(2):
                await tg.send_message(-500, "nhóm")
                now[0] += 20
            with pytest.raises(RetryAfter, match="Retry in 20"):
                await tg.send_message(-500, "nhóm")
            now[0] += 21
            await tg.send_message(-500, "nhóm")
        assert fake.rate_limit_violations == 1


async def test_photo_round_trip(server: FakeTelegramServer, bot: Bot) -> None:
    jpeg = jpeg_with_metadata()
    server.send_photo(16, jpeg, caption="ảnh")
    [update] = await bot.get_updates()
    assert update.message is not None and update.message.caption == "ảnh"
    photo = update.message.photo[-1]
    assert (photo.width, photo.height) == (64, 48)
    buffer = io.BytesIO()
    await (await bot.get_file(photo.file_id)).download_to_memory(buffer)
    assert buffer.getvalue() == jpeg
    sent = await bot.send_photo(16, jpeg, caption="<i>gửi lại</i>", parse_mode="HTML")
    assert sent.caption == "gửi lại" and sent.photo[-1].file_size == len(jpeg)
    with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
        await bot.send_photo(17, "no-such-file")


async def test_webhook_post_with_secret(server: FakeTelegramServer, bot: Bot) -> None:
    received: list[tuple[str | None, dict[str, object]]] = []
    answers = [500, 200]

    async def receive(request: web.Request) -> web.Response:
        received.append((request.headers.get("X-Telegram-Bot-Api-Secret-Token"),
                         await request.json()))
        return web.Response(status=answers.pop(0))

    async with webhook_receiver(receive) as url:
        assert await bot.set_webhook(url, secret_token="s3cret-token", allowed_updates=["message"])
        assert server.webhook is not None and server.webhook["secret_token"] == "s3cret-token"
        update = server.send_text(18, "qua webhook")
        await server.wait_until(lambda: len(server.webhook_deliveries) == 2)
        assert [d.status for d in server.webhook_deliveries] == [500, 200]
        assert [secret for secret, _ in received] == ["s3cret-token"] * 2
        assert received[-1][1]["update_id"] == update["update_id"]
        info = await bot.get_webhook_info()
        assert info.url == url and info.pending_update_count == 0
        assert info.last_error_message is not None and "500" in info.last_error_message
        with pytest.raises(Conflict):
            await bot.get_updates()
        assert await bot.delete_webhook()


async def test_webhook_connections_run_side_by_side_and_each_chat_in_order(
        server: FakeTelegramServer, bot: Bot) -> None:
    in_flight: list[int] = []
    most_at_once = 0
    order: dict[int, list[str]] = {}
    three_at_once = asyncio.Event()

    async def receive(request: web.Request) -> web.Response:
        nonlocal most_at_once
        message = (await request.json())["message"]
        in_flight.append(message["chat"]["id"])
        most_at_once = max(most_at_once, len(in_flight))
        if len(in_flight) == 3:
            three_at_once.set()
        await asyncio.wait_for(three_at_once.wait(), 5)
        order.setdefault(message["chat"]["id"], []).append(message["text"])
        in_flight.remove(message["chat"]["id"])
        return web.Response()

    async with webhook_receiver(receive) as url:
        assert await bot.set_webhook(url, max_connections=3)
        for turn in range(3):
            for chat in (31, 32, 33, 34):
                server.send_text(chat, f"{chat}-{turn}")
        await server.wait_until(lambda: len(server.webhook_deliveries) == 12)
        assert most_at_once == 3  # never more than max_connections, never one chat twice
        assert order == {chat: [f"{chat}-{turn}" for turn in range(3)]
                         for chat in (31, 32, 33, 34)}


async def test_wait_for_messages(server: FakeTelegramServer, bot: Bot) -> None:
    async def later() -> None:
        await asyncio.sleep(0.05)
        await bot.send_message(19, "sau")

    task = asyncio.create_task(later())
    [record] = await server.wait_for_messages(19, 1, timeout=2)
    await task
    assert record.text == "sau"
    assert (await server.wait_for(lambda r: r.chat_id == 19)).message_id == 1
    with pytest.raises(TimeoutError):
        await server.wait_for_messages(19, 2, timeout=0.05)


async def test_application_polls_and_replies(server: FakeTelegramServer) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None
        await context.bot.send_message(update.effective_chat.id, "Chào mừng")

    app = (Application.builder().token(TOKEN).base_url(server.base_url)
           .base_file_url(server.base_file_url).build())
    app.add_handler(CommandHandler("start", start))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        server.send_text(20, "/start")
        [record] = await server.wait_for_messages(20, 1)
        await app.updater.stop()
        await app.stop()
    assert record.text == "Chào mừng"


async def test_commands(bot: Bot) -> None:
    assert await bot.set_my_commands([("start", "Bắt đầu"), ("help", "Trợ giúp")],
                                     language_code="vi")
    assert [c.command for c in await bot.get_my_commands(language_code="vi")] == ["start", "help"]
    assert await bot.get_my_commands() == ()
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([("Bad-Name", "x")])


async def test_inbound_kinds_parse_in_ptb(server: FakeTelegramServer, bot: Bot) -> None:
    server.send_document(21, b"%PDF-1.4 synthetic", "bien-ban.pdf")
    server.send_location(21, 10.776, 106.700)
    server.edit_text(21, 1, "đã sửa")
    server.send_text(-1001234567890, "trong nhóm", user_id=22, chat_type="supergroup")
    server.my_chat_member(21, new_status="kicked")
    server.queue_raw({"update_id": 5, "unknown_kind": {"x": 1}})
    document, location, edited, group, member, raw = await bot.get_updates()
    assert document.message is not None and document.message.document is not None
    assert document.message.document.file_name == "bien-ban.pdf"
    assert location.message is not None and location.message.location is not None
    assert location.message.location.latitude == pytest.approx(10.776)
    assert edited.edited_message is not None and edited.edited_message.text == "đã sửa"
    assert group.message is not None and group.message.chat.type == "supergroup"
    assert group.message.from_user is not None and group.message.from_user.id == 22
    assert member.my_chat_member is not None
    assert member.my_chat_member.new_chat_member.status == "kicked"
    assert raw.update_id == 5
    assert 21 in server.blocked_chats


async def test_message_management(server: FakeTelegramServer, bot: Bot) -> None:
    sent = await bot.send_message(23, "Chọn", reply_markup=keyboard("a"))
    changed = await bot.edit_message_reply_markup(23, sent.message_id, reply_markup=keyboard("b"))
    assert not isinstance(changed, bool) and changed.reply_markup == keyboard("b")
    assert await bot.send_chat_action(23, "typing")
    assert await bot.delete_message(23, sent.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(23, sent.message_id)
    assert [r.method for r in server.sent] == [
        "sendMessage", "editMessageReplyMarkup", "sendChatAction", "deleteMessage"]
    assert len(server.messages_to(23)) == 1


async def test_a_newer_poll_ends_the_older_one_with_conflict(
        server: FakeTelegramServer, bot: Bot) -> None:
    older = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.05)
    async with Bot(TOKEN, base_url=server.base_url) as replica:
        assert await replica.get_updates(timeout=0) == ()
    with pytest.raises(Conflict, match="terminated by other getUpdates"):
        await asyncio.wait_for(older, 2)
