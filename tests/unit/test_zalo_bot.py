"""The Zalo Bot channel's pure parts: reading updates, rendering replies, mapping errors."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.channels.zalo_bot._api import ApiError, NetworkError
from bot.channels.zalo_bot._errors import delivery_error
from bot.channels.zalo_bot._outgoing import MAX_TEXT, render
from bot.channels.zalo_bot._updates import (
    Ignored,
    NotUnderstood,
    Received,
    read,
    unwrap,
    update_id,
)
from bot.conversation.messages import ChatKind, Option, Reply
from bot.errors import RetryLater, Undeliverable, Unreachable

CHAT = "6ede9afa66b88fe6d6a9"


def update(event: str = "message.text.received", **message: Any) -> dict[str, Any]:
    body = {"message_id": "a" * 20, "date": 1750316131602,
            "from": {"id": CHAT, "display_name": "Lan", "is_bot": False},
            "chat": {"id": CHAT, "chat_type": "PRIVATE"}, **message}
    return {"event_name": event, "message": body}


def test_both_webhook_shapes_unwrap_to_the_update() -> None:
    flat = update(text="hi")
    assert unwrap(flat) == flat
    assert unwrap({"ok": True, "result": flat}) == flat
    for body in (None, [], {}, {"ok": True, "result": []}, {"event_name": 3}):
        assert unwrap(body) is None


def test_text_commands_and_groups() -> None:
    event = read(update(text="/status abc"))
    assert isinstance(event, Received)
    assert (event.incoming.command, event.incoming.args) == ("status", "abc")
    assert event.update_id == update_id("a" * 20)
    group = update(text="xin chào")
    group["message"]["chat"]["chat_type"] = "GROUP"
    heard = read(group)
    assert isinstance(heard, Received) and heard.incoming.chat_kind is ChatKind.GROUP
    group["event_name"] = "message.image.received"
    assert isinstance(read(group), Ignored)  # nothing posted in a group is downloaded


@pytest.mark.parametrize("field", ["photo_url", "photo"])
def test_a_photo_is_found_under_either_name(field: str) -> None:
    event = read(update("message.image.received", caption="ảnh\u202e", **{
        field: "https://zalo.example/p.jpg"}))
    assert isinstance(event, Received) and event.photo
    assert event.photo_url == "https://zalo.example/p.jpg"
    assert event.incoming.text == "ảnh"  # bidirectional controls dropped


@pytest.mark.parametrize("event", ["message.sticker.received", "message.voice.received",
                                   "message.unsupported.received"])
def test_what_the_bot_cannot_read_is_answered(event: str) -> None:
    assert isinstance(read(update(event)), NotUnderstood)


def test_bots_unknown_events_and_missing_parts_are_ignored() -> None:
    from_bot = update(text="hi")
    from_bot["message"]["from"]["is_bot"] = True
    assert read(from_bot) == Ignored("from a bot", update_id("a" * 20))
    assert isinstance(read(update("message.reaction.received")), Ignored)
    assert read({"event_name": "message.unsupported.received"}) == Ignored("no message")


def test_update_ids_fit_a_signed_bigint() -> None:
    assert all(0 <= update_id(f"{n:020x}") < 2**63 for n in range(1000))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["event_name", "message", "chat", "from", "id", "text", "chat_type",
                         "message_id", "photo", "photo_url", "caption", "is_bot", "result"]),
        children, max_size=6),
    max_leaves=30)


@given(json_values)
def test_any_json_reads_into_an_event(value: object) -> None:
    assert isinstance(read(value), Received | NotUnderstood | Ignored)
    assert unwrap(value) is None or isinstance(unwrap(value), dict)


def test_options_are_numbered_lines_with_how_to_choose() -> None:
    reply = Reply("Chọn:", (Option("Một", "a"), Option("Hai", "b")), first_number=3)
    [text] = render(reply, "vi")
    assert text == "Chọn:\n\n3. Một\n4. Hai\n\nTrả lời bằng một số từ 3 đến 4."
    [english] = render(reply, "en")
    assert english.endswith("Reply with a number from 3 to 4.")
    [photos] = render(Reply("Ảnh:", photos=(b"jpeg", b"jpeg")), "en")
    assert "2 photo(s) cannot be sent over Zalo" in photos


def test_parts_stay_under_2000_characters_counting_emoji_twice() -> None:
    parts = render(Reply("🙂" * 1500), "vi")
    assert len(parts) == 2
    assert all(len(part.encode("utf-16-le")) // 2 <= MAX_TEXT for part in parts)


@pytest.mark.parametrize(("error", "kind"), [
    (ApiError("sendMessage", 429, "Quota exceeded"), RetryLater),
    (ApiError("sendMessage", 401, "Unauthorized"), RetryLater),
    (ApiError("sendMessage", 403, "Forbidden"), Unreachable),
    (ApiError("sendMessage", 404, "Not Found"), Unreachable),
    (ApiError("sendMessage", 400, "Bad Request: text too long"), Undeliverable),
    (ApiError("sendMessage", 500, ""), RetryLater),
    (ApiError("sendMessage", None, "not a Bot API answer"), RetryLater),
    (NetworkError("sendMessage", "timeout"), RetryLater),
])
def test_errors_map_to_delivery_errors(error: ApiError | NetworkError, kind: type) -> None:
    mapped = delivery_error(error, quota_wait=12.0)
    assert isinstance(mapped, kind)
    if isinstance(error, ApiError) and error.code == 429:
        assert isinstance(mapped, RetryLater) and mapped.retry_after == 12.0


def test_settings_name_the_channel_and_check_the_secret() -> None:
    from bot.errors import ConfigError
    from bot.settings import load_settings

    settings = load_settings(_env_file=None, zalo_bot_token="1:x")
    assert settings.channels == ("console", "zalo_bot") and settings.messaging
    with pytest.raises(ConfigError, match=r"PCMT_ZALO_BOT_WEBHOOK_SECRET: .*8 to 256"):
        load_settings(_env_file=None, zalo_bot_webhook_secret="short")
    with pytest.raises(ConfigError, match="PCMT_ZALO_BOT_BASE_URL"):
        load_settings(_env_file=None, zalo_bot_base_url="ftp://zalo")
