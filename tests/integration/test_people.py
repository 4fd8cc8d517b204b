"""``/people`` a page of 15 at a time on SQLite and PostgreSQL: each page read afresh from the
database and audited as a view, the pages turned with the paging's own previous and next."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.store import officers
from bot.store.schema import audit_log
from tests.integration.test_checkins import Setup
from tests.world import World


@pytest.fixture
def setup(world: World) -> Setup:
    return Setup(world)


async def test_people_come_fifteen_a_page(setup: Setup) -> None:
    for number in range(1, 41):
        await setup.enrol(name=f"Người {number:02d}")  # synthetic
    async with setup.world.store.transaction() as conn:
        await officers.link(conn, channel="telegram", chat_id="7002", role="officer",
                            commune_code="26743", province_code="79", language="vi",
                            now=setup.world.clock())
    officer = setup.world.citizen("7002")
    await officer.say("/people")
    first = officer.last
    assert "(40)" in first.text and "Trang 1/3" in first.text
    assert [f"Người {n:02d}" in first.text for n in (1, 15, 16)] == [True, True, False]
    await officer.press(officer.option("pp:1"))
    second = officer.last
    assert "Trang 2/3" in second.text and second.edit
    assert [f"Người {n:02d}" in second.text for n in (15, 16, 30, 31)] == [
        False, True, True, False]
    assert {option.data for option in second.options} >= {"pp:0", "pp:2"}
    await officer.press("pp:99")  # a page that is no more: the last there is
    assert "Trang 3/3" in officer.last.text and "Người 40" in officer.last.text
    assert "pp:3" not in {option.data for option in officer.last.options}
    stranger = setup.world.citizen("8888")
    await stranger.press("pp:1")
    assert "Người" not in stranger.last.text
    async with setup.world.store.transaction() as conn:
        views = [row.detail for row in await conn.execute(
            select(audit_log.c.detail).where(audit_log.c.action == "enrolment.list"))]
    assert views == ["15 of 40", "15 of 40", "10 of 40"]


async def test_a_short_list_is_one_message_without_pages(setup: Setup) -> None:
    await setup.enrol()
    async with setup.world.store.transaction() as conn:
        await officers.link(conn, channel="telegram", chat_id="7002", role="officer",
                            commune_code="26743", province_code="79", language="vi",
                            now=setup.world.clock())
    officer = setup.world.citizen("7002")
    await officer.say("/people")
    assert "Trang" not in officer.last.text
    assert not [option for option in officer.last.options if option.data.startswith("pp:")]
