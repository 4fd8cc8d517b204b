"""The Telegram channel in long-polling mode, end to end through python-telegram-bot's HTTP
stack against the fake Bot API server. Every test also checks that Telegram's sending limits
were never exceeded and that nothing was left undelivered."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from bot.conversation.messages import ChatKind, Incoming, Option
from bot.conversation.routing import Context, Router
from bot.store import outbox
from tests.conftest import FakeClock
from tests.fakes.telegram_api import FakeTelegramServer
from tests.integration._telegram import TOKEN, USERNAME, Running, recorder, running_bot

GROUP = -1_001_234_567_890


async def assert_clean(bot: Running) -> None:
    assert bot.server.rate_limit_violations == 0
    async with bot.store.transaction() as conn:
        assert (await outbox.counts(conn)).get("pending", 0) == 0


def small_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (20, 120, 60)).save(buffer, "JPEG")
    return buffer.getvalue()


async def test_start_in_vietnamese_with_an_inline_keyboard(tmp_path: Path,
                                                           clock: FakeClock) -> None:
    async with running_bot(tmp_path, clock) as bot:
        bot.server.send_text(501, "/start")
        [greeting] = await bot.server.wait_for_messages(501, 1)
        assert greeting.text is not None and greeting.text.startswith("Xin chào")
        assert greeting.parse_mode == "HTML"
        assert greeting.reply_markup is not None
        data = [button["callback_data"] for row in greeting.reply_markup["inline_keyboard"]
                for button in row]
        assert data == ["faq", "report", "status", "lang:en"]
        await assert_clean(bot)


async def test_button_press_is_answered_and_switches_the_language(tmp_path: Path,
                                                                  clock: FakeClock) -> None:
    async with running_bot(tmp_path, clock) as bot:
        server = bot.server
        server.send_text(502, "/start")
        [menu] = await server.wait_for_messages(502, 1)
        assert menu.message_id is not None
        press = server.press_button(502, menu.message_id, "lang:en")
        switched = (await server.wait_for_messages(502, 2))[1]
        assert switched.text == "Switched to English."
        assert [answer["callback_query_id"] for answer in server.answered_callbacks] == [
            press["callback_query"]["id"]]
        server.send_text(502, "/start")
        again = (await server.wait_for_messages(502, 3))[2]
        assert again.text is not None and again.text.startswith("Hello")
        await assert_clean(bot)


async def test_a_group_hears_only_commands_addressed_to_this_bot(tmp_path: Path,
                                                                 clock: FakeClock) -> None:
    async with running_bot(tmp_path, clock) as bot:
        server = bot.server
        server.send_text(GROUP, "chào cả nhóm", user_id=71, chat_type="supergroup")
        server.send_text(GROUP, "/help@other_bot", user_id=71, chat_type="supergroup")
        server.send_text(GROUP, f"/help@{USERNAME}", user_id=71, chat_type="supergroup")
        server.send_text(GROUP, "/help@OTHERBOT", user_id=72, chat_type="supergroup")
        [answer] = await server.wait_for_messages(GROUP, 1)
        assert answer.text is not None and answer.text.startswith("Các lệnh")
        # the last update is handled after the one answered: nothing else came of it
        await server.wait_until(lambda: not server._pending)
        await bot.channel.stop()
        assert len(server.messages_to(GROUP)) == 1
        await assert_clean(bot)


async def test_a_malformed_update_is_skipped_and_the_next_one_handled(tmp_path: Path,
                                                                      clock: FakeClock) -> None:
    async with running_bot(tmp_path, clock) as bot:
        server = bot.server
        server.queue_raw({"message": {"message_id": "x", "chat": 5, "date": "yesterday"}})
        server.queue_raw({"callback_query": [1, 2, 3]})
        server.send_text(503, "/help")
        [answer] = await server.wait_for_messages(503, 1)
        assert answer.text is not None and answer.text.startswith("Các lệnh")
        await assert_clean(bot)


async def test_photos_and_documents_become_attachments(tmp_path: Path, clock: FakeClock) -> None:
    seen: list[Incoming] = []
    jpeg = small_jpeg()
    async with running_bot(tmp_path, clock, extra=[recorder(seen)]) as bot:
        server = bot.server
        server.send_photo(504, jpeg, caption="ảnh hiện trường")
        server.send_document(505, jpeg, file_name="scan.jpg", mime_type="image/jpeg")
        server.send_document(506, b"%PDF-1.4 synthetic", file_name="note.pdf")
        server.send_photo(GROUP, jpeg, user_id=73, chat_type="supergroup")
        for chat in (504, 505, 506):
            await server.wait_for_messages(chat, 1)
        photo, image_document, pdf = sorted(seen, key=lambda incoming: incoming.chat_id)
        # handlers see the downloaded pictures re-encoded, and files that are none refused
        for incoming in (photo, image_document):
            [attachment] = incoming.attachments
            assert attachment.kind == "photo" and attachment.refused is None
            assert attachment.mime_type == "image/jpeg"
            with Image.open(io.BytesIO(attachment.data)) as picture:
                assert picture.format == "JPEG" and picture.size == Image.open(
                    io.BytesIO(jpeg)).size
        assert photo.text == "ảnh hiện trường"
        assert pdf.attachments[0].kind == "document" and pdf.attachments[0].data == b""
        assert pdf.attachments[0].refused == "not_image"
        # nothing posted in a police group is downloaded
        assert not [call for call in server.calls if call[0] == "getFile"][3:]
        await assert_clean(bot)


async def test_a_location_reaches_the_handler(tmp_path: Path, clock: FakeClock) -> None:
    seen: list[Incoming] = []
    async with running_bot(tmp_path, clock, extra=[recorder(seen)]) as bot:
        bot.server.send_location(507, 10.7769, 106.7009)
        await bot.server.wait_for_messages(507, 1)
        assert seen[0].location is not None
        assert (seen[0].location.latitude, seen[0].location.longitude) == (10.7769, 106.7009)
        await assert_clean(bot)


async def test_an_edited_message_and_a_sticker_get_one_polite_line(tmp_path: Path,
                                                                   clock: FakeClock) -> None:
    async with running_bot(tmp_path, clock) as bot:
        server = bot.server
        server.edit_text(508, 1, "sửa lại câu hỏi")
        server.queue_raw({"message": {
            "message_id": 2, "date": 1_790_000_000, "from": {"id": 509, "is_bot": False,
                                                          "first_name": "Lan"},
            "chat": {"id": 509, "type": "private", "first_name": "Lan"},
            "sticker": {"file_id": "CAACAgIAAxk", "file_unique_id": "AgAD", "type": "regular",
                        "width": 512, "height": 512, "is_animated": False,
                        "is_video": False}}})
        [edited] = await server.wait_for_messages(508, 1)
        [sticker] = await server.wait_for_messages(509, 1)
        assert edited.text is not None and "tin nhắn đã sửa" in edited.text
        assert sticker.text is not None and "chưa đọc được loại tin nhắn" in sticker.text
        await assert_clean(bot)


def _echo_router() -> Router:
    """Commands that produce the replies the rendering has to cope with."""
    router = Router("rendering")

    @router.command("long")
    async def long(ctx: Context) -> None:
        paragraph = "Ma túy gây hại cho sức khỏe <và> gia đình & xã hội. " * 30
        ctx.reply("\n\n".join([paragraph.strip()] * 6), [Option("Menu", "menu")])

    @router.command("big")
    async def big(ctx: Context) -> None:
        ctx.reply("Chọn:", [Option("Dài", "big:" + "đ" * 60), Option("Ngắn", "big:short")])

    @router.choice("big")
    async def chosen(ctx: Context) -> None:
        ctx.reply(f"len={len(ctx.incoming.choice or '')}")

    @router.command("card")
    async def card(ctx: Context) -> None:
        ctx.reply("Thẻ 1", [Option("Sửa", "card")])

    @router.choice("card")
    async def edit(ctx: Context) -> None:
        ctx.reply("Thẻ 2", [Option("Sửa", "card")], edit=True)

    return router


async def test_a_long_text_is_split_with_the_options_on_the_last_part(tmp_path: Path,
                                                                      clock: FakeClock) -> None:
    async with running_bot(tmp_path, clock, extra=[_echo_router()]) as bot:
        bot.server.send_text(510, "/long")
        await bot.server.wait_until(lambda: len(bot.server.messages_to(510)) >= 2)
        await bot.channel.stop()  # every part sent
        parts = bot.server.messages_to(510)
        assert len(parts) == 3
        visible = [part.message["text"] for part in parts if part.message]
        assert len(visible) == 3 and all(len(text) <= 4096 for text in visible)
        assert all(text.endswith(".") for text in visible)  # cut between sentences
        assert " ".join(visible).count("<và>") == 180
        assert [part.reply_markup is not None for part in parts] == [False] * (
            len(parts) - 1) + [True]
        await assert_clean(bot)


async def test_button_data_over_64_bytes_makes_the_round_trip(tmp_path: Path,
                                                             clock: FakeClock) -> None:
    async with running_bot(tmp_path, clock, extra=[_echo_router()]) as bot:
        server = bot.server
        server.send_text(511, "/big")
        [menu] = await server.wait_for_messages(511, 1)
        assert menu.reply_markup is not None and menu.message_id is not None
        # short labels share a row
        [[long_button, short_button]] = menu.reply_markup["inline_keyboard"]
        long, short = long_button["callback_data"], short_button["callback_data"]
        assert long.startswith("p:") and len(long.encode()) <= 64
        assert short == "big:short"
        server.press_button(511, menu.message_id, long)
        answer = (await server.wait_for_messages(511, 2))[1]
        assert answer.text == f"len={len('big:' + 'đ' * 60)}"
        server.press_button(511, menu.message_id, "p:forged-reference")
        stale = (await server.wait_for_messages(511, 3))[2]
        assert stale.text is not None and stale.text.startswith("Lựa chọn này đã cũ")
        assert len(server.answered_callbacks) == 2
        await assert_clean(bot)


async def test_an_edit_reply_replaces_the_pressed_message(tmp_path: Path,
                                                          clock: FakeClock) -> None:
    async with running_bot(tmp_path, clock, extra=[_echo_router()]) as bot:
        server = bot.server
        server.send_text(512, "/card")
        [card] = await server.wait_for_messages(512, 1)
        assert card.message_id is not None
        server.press_button(512, card.message_id, "card")
        edit = await server.wait_for(lambda record: record.method == "editMessageText")
        assert (edit.message_id, edit.text) == (card.message_id, "Thẻ 2")
        # the same edit again changes nothing: Telegram refuses, a new message is sent
        server.press_button(512, card.message_id, "card")
        fresh = (await server.wait_for_messages(512, 2))[1]
        assert fresh.text == "Thẻ 2" and fresh.message_id != card.message_id
        await assert_clean(bot)


async def test_leaving_and_coming_back_marks_the_user(tmp_path: Path, clock: FakeClock) -> None:
    async with FakeTelegramServer(TOKEN, USERNAME) as server:
        async with running_bot(tmp_path, clock, server=server) as bot:
            server.send_text(513, "/start")
            await server.wait_for_messages(513, 1)
            server.my_chat_member(513, new_status="kicked")
            await server.wait_until(lambda: not server._pending)
            await bot.channel.stop()  # the update in flight is finished first
            assert await bot.unreachable(513)
        async with running_bot(tmp_path, clock, server=server) as bot:
            server.my_chat_member(513, new_status="member")
            await server.wait_until(lambda: not server._pending)
            await bot.channel.stop()
            assert not await bot.unreachable(513)
            await assert_clean(bot)


async def test_group_updates_keep_their_kind(tmp_path: Path, clock: FakeClock) -> None:
    seen: list[Incoming] = []
    router = Router("group-probe")

    @router.command("probe")
    async def probe(ctx: Context) -> None:
        seen.append(ctx.incoming)
        ctx.reply("ok")

    async with running_bot(tmp_path, clock, extra=[router]) as bot:
        bot.server.send_text(GROUP, f"/probe@{USERNAME} 12", user_id=74, chat_type="supergroup")
        await bot.server.wait_for_messages(GROUP, 1)
        assert seen[0].chat_kind is ChatKind.GROUP
        assert (seen[0].command, seen[0].args, seen[0].user_id) == ("probe", "12", "74")
        await assert_clean(bot)
