"""The Zalo OA channel's pure parts: reading webhook bodies, signatures, what Zalo's codes
mean for delivery, how a reply becomes messages, the settings."""

from __future__ import annotations

from typing import Any

import pytest

from bot.channels.zalo_oa._oa_client import ApiError, NetworkError
from bot.channels.zalo_oa._oa_errors import delivery_error
from bot.channels.zalo_oa._oa_events import (
    Ignored,
    Membership,
    NotUnderstood,
    Received,
    given_signature,
    read,
    timestamp_of,
)
from bot.channels.zalo_oa._outgoing import messages
from bot.conversation.messages import Option, Reply
from bot.errors import ConfigError, OutsideWindow, RetryLater, Undeliverable, Unreachable
from bot.settings import Settings, load_settings

USER = "2468458835296117922"


def body(event: str = "user_send_text", **message: Any) -> dict[str, Any]:
    return {"app_id": "1", "event_name": event, "sender": {"id": USER},
            "recipient": {"id": "9"}, "timestamp": "1764720000000",
            "message": {"msg_id": "m" * 32, **message}}


def test_text_is_received_with_its_message_id() -> None:
    event = read(body(text=" /start  "))
    assert isinstance(event, Received)
    assert event.incoming.command == "start" and event.incoming.chat_id == USER
    assert event.message_id == "m" * 32 and event.update_id > 0


def test_a_tap_is_the_number_it_carries_as_text() -> None:
    event = read(body(text="3"))
    assert isinstance(event, Received) and event.incoming.text == "3"


def test_photos_locations_and_the_unreadable() -> None:
    photo = read(body("user_send_image", attachments=[
        {"type": "image", "payload": {"url": "https://cdn.example/a.jpg"}}]))
    assert isinstance(photo, Received) and photo.photo
    assert photo.photo_url == "https://cdn.example/a.jpg"
    place = read(body("user_send_location", attachments=[
        {"type": "location", "payload": {"coordinates": {"latitude": "10.77",
                                                         "longitude": "106.70"}}}]))
    assert isinstance(place, Received) and place.incoming.location is not None
    assert place.incoming.location.latitude == pytest.approx(10.77)
    assert isinstance(read(body("user_send_location", attachments=[
        {"type": "location", "payload": {"coordinates": {"latitude": "nan"}}}])), Ignored)
    assert isinstance(read(body("user_send_sticker")), NotUnderstood)


@pytest.mark.parametrize("junk", [
    None, [], "text", {}, {"event_name": "user_send_text"}, body(text=""),
    {**body(text="hi"), "sender": {"id": "x" * 65}}, {**body(text="hi"), "message": "hi"},
    body("user_received_message"), body("user_seen_message"), body("oa_send_text"),
    body("user_send_magic"),
])
def test_anything_else_is_ignored(junk: object) -> None:
    assert isinstance(read(junk), Ignored)


def test_follow_and_unfollow() -> None:
    follow = {"event_name": "follow", "follower": {"id": USER}, "timestamp": "1"}
    assert read(follow) == Membership(USER, True)
    assert read({**follow, "event_name": "unfollow"}) == Membership(USER, False)


def test_signature_header_and_timestamp_forms() -> None:
    assert given_signature("mac=ABC") == "ABC" and given_signature(" abc ") == "abc"
    assert timestamp_of({"timestamp": "17"}) == "17"
    assert timestamp_of({"timestamp": 17}) == "17"
    assert timestamp_of({"timestamp": "17a"}) is None and timestamp_of([]) is None


@pytest.mark.parametrize(("error", "kind"), [
    (ApiError("send", -230), OutsideWindow),
    (ApiError("send", -213), Unreachable),
    (ApiError("send", -32), RetryLater),
    (ApiError("send", -211), RetryLater),
    (ApiError("send", -216), RetryLater),
    (ApiError("send", 502), RetryLater),
    (ApiError("send", None), RetryLater),
    (ApiError("send", -201), Undeliverable),
    (ApiError("send", -999), Undeliverable),
    (NetworkError("send", "timeout"), RetryLater),
])
def test_errors_at_one_boundary(error: Exception, kind: type) -> None:
    mapped = delivery_error(error, rate_wait=3.0)  # type: ignore[arg-type]
    assert type(mapped) is kind
    if isinstance(error, ApiError) and error.code == -32:
        assert isinstance(mapped, RetryLater) and mapped.retry_after == 3.0


def test_options_become_a_template_on_the_last_part_and_numbered_beyond_five() -> None:
    reply = Reply("x " * 1500, tuple(Option(f"Lựa chọn {n}", str(n)) for n in range(3)),
                  first_number=4)
    parts = messages(reply, "vi")
    assert len(parts) == 2 and "attachment" not in parts[0]
    buttons = parts[-1]["attachment"]["payload"]["buttons"]
    assert [button["payload"] for button in buttons] == ["4", "5", "6"]
    assert {button["type"] for button in buttons} == {"oa.query.show"}
    many = messages(Reply("Chọn", tuple(Option(f"O{n}", str(n)) for n in range(6))), "vi")
    assert all("attachment" not in part for part in many) and "6. O5" in many[-1]["text"]
    long_label = messages(Reply("t", (Option("L" * 150, "a"),)), "vi")
    assert len(long_label[0]["attachment"]["payload"]["buttons"][0]["title"]) == 100


def test_settings_run_the_oa_with_its_app() -> None:
    settings = Settings(_env_file=None, zalo_oa_app_id="123")
    assert settings.channels == ("console", "zalo_oa") and settings.messaging
    with pytest.raises(ConfigError, match="PCMT_ZALO_OA_APP_ID"):
        load_settings(_env_file=None, zalo_oa_app_id="abc")
    with pytest.raises(ConfigError, match="PCMT_ZALO_OA_API_URL"):
        load_settings(_env_file=None, zalo_oa_api_url="openapi.zalo.me")
