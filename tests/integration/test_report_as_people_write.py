"""The report flow with addresses and answers as people really type them, on SQLite and
PostgreSQL: old addresses, nonsense, provinces typed, Back and Cancel, typed consent, a short
description, and the police question answered in one tap."""

from __future__ import annotations

from datetime import timedelta

from bot.conversation.messages import Reply
from bot.officials.invites import invite_hash
from bot.security.privacy import new_ticket_code
from bot.store import officers
from tests.harness import BEN_THANH, Chat, RecordingChannel, draft_to_photos, file_report
from tests.world import World


def communes_offered(reply: Reply) -> list[str]:
    return [o.label for o in reply.options if o.data.startswith("rp:com:")]


async def to_commune_step(world: World, user: str) -> Chat:
    chat = world.citizen(user)
    await chat.press("report")
    await chat.press("rp:cat:dealing")
    return chat


async def test_an_old_ward_split_in_two_asks_which_naming_both(world: World) -> None:
    chat = await to_commune_step(world, "801")
    [reply] = await chat.say("phường Đa Kao, quận 1, TP HCM")
    assert "Phường Đa Kao, Quận 1, Thành phố Hồ Chí Minh" in reply.text
    assert "trước 1/7/2025" in reply.text and "2 xã, phường" in reply.text
    assert communes_offered(reply) == ["Phường Tân Định, Thành phố Hồ Chí Minh",
                                       "Phường Sài Gòn, Thành phố Hồ Chí Minh"]
    await chat.press("rp:com:26740")
    assert "Ở đâu và khi nào" in chat.last.text


async def test_an_old_district_alone_lists_every_commune_it_became(world: World) -> None:
    chat = await to_commune_step(world, "802")
    [reply] = await chat.say("quan 1 hcm")
    assert "Quận 1, Thành phố Hồ Chí Minh" in reply.text
    assert len(communes_offered(reply)) == 4
    [reply] = await (await to_commune_step(world, "803")).say("phường 1 quận 3")
    assert all("Hồ Chí Minh" in label for label in communes_offered(reply))


async def test_nonsense_is_not_found_with_the_ways_forward(world: World) -> None:
    chat = await to_commune_step(world, "804")
    for text in ("xa khong ton tai", "<b>x</b>"):
        [reply] = await chat.say(text)
        assert "Không tìm thấy" in reply.text and "1/7/2025" in reply.text
        assert not communes_offered(reply)
        assert {"rp:provs", "rp:back:category", "rp:cancel"} <= {o.data for o in reply.options}


async def test_a_province_typed_is_taken_as_the_province(world: World) -> None:
    for user, typed in (("805", "hcm"), ("806", "TP HCM"), ("807", "ho chi minh")):
        chat = await to_commune_step(world, user)
        await chat.press("rp:provs")  # the province step, answered by typing
        [reply] = await chat.say(typed)
        assert "Thành phố Hồ Chí Minh" in reply.text, typed
        [reply] = await chat.say("ben thanh")
        assert communes_offered(reply) == ["Phường Bến Thành, Thành phố Hồ Chí Minh"]
    # At the commune step too, a province alone is no commune.
    chat = await to_commune_step(world, "808")
    [reply] = await chat.say("ho chi minh")
    assert "Thành phố Hồ Chí Minh" in reply.text and not communes_offered(reply)
    # "dn" is said for two provinces: both offered.
    [reply] = await chat.say("/cancel")
    chat = await to_commune_step(world, "809")
    await chat.press("rp:provs")
    [reply] = await chat.say("dn")
    assert {"rp:prov:48", "rp:prov:75"} <= {o.data for o in reply.options}
    [reply] = await chat.say("tinh khong co")
    assert "Không tìm thấy tỉnh" in reply.text
    assert sum(o.data.startswith("rp:prov:") for o in reply.options) == 34 or any(
        o.data.startswith("pg:") for o in reply.options)


async def test_text_steps_go_back_and_cancel(world: World) -> None:
    chat = await to_commune_step(world, "810")
    await chat.say(BEN_THANH)
    await chat.press(chat.option("rp:com:"))
    assert {"rp:back:commune", "rp:cancel"} <= {o.data for o in chat.last.options}
    await chat.say("Quán nước đầu hẻm 12, tối thứ Sáu")
    assert {"rp:back:where", "rp:cancel"} <= {o.data for o in chat.last.options}
    await chat.press("rp:back:where")
    assert "Ở đâu và khi nào" in chat.last.text
    await chat.say("Quán nước đầu hẻm 14, tối thứ Bảy")
    await chat.press("rp:back:where")
    await chat.press("rp:back:commune")
    assert "xã, phường nào" in chat.last.text
    await chat.press("rp:back:category")
    assert any(o.data.startswith("rp:cat:") for o in chat.last.options)
    await chat.press("rp:cancel")
    assert "Đã hủy" in chat.last.text


async def test_a_description_of_a_word_or_two_asks_for_more(world: World) -> None:
    chat = await to_commune_step(world, "811")
    await chat.say(BEN_THANH)
    await chat.press(chat.option("rp:com:"))
    await chat.say("Quán nước đầu hẻm 12")
    for short in ("x", "ma túy"):
        await chat.say(short)
        assert "ít nhất 3 từ" in chat.last.text
    await chat.say("Hai người bán ma túy")
    assert "ảnh" in chat.last.text


async def test_typed_consent_in_both_languages_and_no_photo(world: World) -> None:
    for user, typed, follow_up in (("812", "có", True), ("813", "đồng ý", True),
                                   ("814", "yes", True), ("815", "không", False),
                                   ("816", "No thanks", False)):
        chat = world.citizen(user)
        await draft_to_photos(chat)
        await chat.say(typed)
        assert "Kiểm tra lại tin báo" in chat.last.text, typed
        assert ("Câu hỏi thêm: ✅" in chat.last.text) is follow_up, typed
    chat = world.citizen("817")
    await draft_to_photos(chat)
    asked = chat.last.text
    [reply] = await chat.say("không có ảnh")
    assert reply.text != asked and "Không có ảnh cũng được" in reply.text
    assert {"rp:fu:yes", "rp:fu:no"} <= {o.data for o in reply.options}
    await chat.say("có")
    assert "Kiểm tra lại tin báo" in chat.last.text
    [reply] = await (await _photos_step(world, "818")).say("gì cơ")
    assert "“có” hoặc “không”" in reply.text


async def _photos_step(world: World, user: str) -> Chat:
    chat = world.citizen(user)
    await draft_to_photos(chat)
    return chat


async def test_the_consent_says_declining_also_stops_status_notices(world: World) -> None:
    chat = await _photos_step(world, "819")
    assert "đổi trạng thái" in chat.last.text and "/status" in chat.last.text


async def test_link_messages_say_what_each_chat_receives(world: World) -> None:
    async def join(role: str, chat: Chat, commune: str | None, province: str) -> str:
        code = new_ticket_code()
        async with world.store.transaction() as conn:
            await officers.create_invite(conn, code_hash=invite_hash(world.services.keyring,
                                                                     code),
                                         role=role, commune_code=commune, province_code=province,
                                         expires_at=world.clock() + timedelta(hours=1))
        return (await chat.say(f"/join {code}"))[-1].text

    officer = await join("officer", world.citizen("7901"), "26743", "79")
    assert "mọi tin báo" in officer and "Phường Bến Thành" in officer
    assert "câu trả lời của người báo tin" in officer
    supervisor = await join("supervisor", world.citizen("7902"), None, "79")
    assert "chưa có công an xã, phường liên kết" in supervisor
    assert "không được xác nhận sau" in supervisor and "/reports" in supervisor


async def test_a_police_question_is_answered_in_one_tap(world: World) -> None:
    async with world.store.transaction() as conn:
        await officers.link(conn, channel="telegram", chat_id="7950", role="officer",
                            commune_code="26743", province_code="79", language="en",
                            now=world.clock())
    reporter = world.citizen("820")
    ticket = await file_report(reporter)
    police = world.citizen("7950")
    await police.press(f"r:ask:{ticket}")
    await police.say("What time do they come?")
    telegram = RecordingChannel("telegram")
    await world.delivery(telegram).drain()
    [question] = [reply for chat, reply in telegram.sent if chat == "820"]
    assert "“💬 Trả lời”" in question.text
    assert question.options[0].label == "💬 Trả lời"
    steps = reporter.steps
    await reporter.press(question.options[0].data)
    assert "Gõ câu trả lời" in reporter.last.text
    await reporter.say("Khoảng 9 giờ tối")
    assert reporter.steps - steps == 2  # one tap, then the answer typed
    await world.delivery(telegram).drain()
    [pushed] = [text for text in telegram.texts_to("7950") if "Khoảng 9 giờ tối" in text]
    assert pushed.startswith(f"💬 The reporter of {ticket} answered: ")
    card = (await police.press(f"r:view:{ticket}"))[-1].text  # in the officer's own language
    assert "💬 20/11 Người báo tin trả lời: Khoảng 9 giờ tối" in card
    await reporter.say(f"/status {ticket} {reporter.passphrase}")
    await reporter.press(reporter.option(f"st:{ticket}:info"))
    await reporter.say("Xe máy màu đỏ")
    await world.delivery(telegram).drain()
    [added] = [text for text in telegram.texts_to("7950") if "Xe máy màu đỏ" in text]
    assert added.startswith(f"➕ The reporter of {ticket} added: ")


async def test_a_former_province_is_still_its_old_capitals_ward(world: World) -> None:
    chat = await to_commune_step(world, "821")
    [reply] = await chat.say("Bến Tre")
    assert "Phường Bến Tre, Vĩnh Long" in communes_offered(reply)
