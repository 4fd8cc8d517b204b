"""The OA's tokens: stored sealed, rotated with every refresh (the pair saved together),
refreshed ahead of expiry, once even when two processes need it at the same moment, and a
refusal that tells the administrator what to do."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest

from bot.channels.zalo_oa import NotConnected, Tokens
from bot.services import Services
from bot.settings import Settings
from bot.store import Store, zalo_oa
from tests.conftest import POSTGRES_URL, FakeClock, StoreFactory, postgres_options, postgres_schema
from tests.fakes.zalo_oa_api import APP_ID, FakeZaloOaServer
from tests.integration._zalo_oa import oauth_client, settings_for


@pytest.fixture
async def server(clock: FakeClock) -> AsyncIterator[FakeZaloOaServer]:
    async with FakeZaloOaServer(clock=clock) as running:
        yield running


def tokens_of(settings: Settings, store: Store, clock: FakeClock) -> Tokens:
    return Tokens(store, Services(settings).keyring, oauth_client(settings), clock)


async def test_connect_stores_the_rotated_pair_sealed(
        store_factory: StoreFactory, server: FakeZaloOaServer, clock: FakeClock,
        tmp_path: Path) -> None:
    store = await store_factory.open()
    settings = settings_for(tmp_path, server)
    tokens = tokens_of(settings, store, clock)
    await tokens.client.open()
    try:
        consent = server.issue_refresh_token()
        await tokens.connect(consent)
        async with store.transaction() as conn:
            stored = await zalo_oa.load_tokens(conn, APP_ID)
        assert stored is not None
        [(spent, accepted)] = server.refreshes
        assert spent == consent and accepted
        # neither token is readable in the database
        assert consent not in stored.refresh_token
        assert not any(token in (stored.access_token, stored.refresh_token)
                       for token in server._access_tokens)
        assert stored.access_expires_at == clock() + timedelta(seconds=90_000)
        # the consent's token is spent: connecting with it again is refused
        with pytest.raises(Exception, match="error -14014"):
            await tokens.connect(consent)
        # ahead of expiry, the next use refreshes, and the new refresh token replaces the old
        first = await tokens.access_token()
        clock.advance(hours=24, minutes=30)
        second = await tokens.access_token()
        assert second != first and len(server.refreshes) == 3 and server.refreshes[-1][1]
        async with store.transaction() as conn:
            rotated = await zalo_oa.load_tokens(conn, APP_ID)
        assert rotated is not None and rotated.refresh_token != stored.refresh_token
    finally:
        await tokens.client.close()


async def test_a_token_still_valid_is_used_while_oauth_is_away(
        store_factory: StoreFactory, server: FakeZaloOaServer, clock: FakeClock,
        tmp_path: Path) -> None:
    store = await store_factory.open()
    tokens = tokens_of(settings_for(tmp_path, server), store, clock)
    await tokens.client.open()
    try:
        await tokens.connect(server.issue_refresh_token())
        first = await tokens.access_token()
        clock.advance(hours=24, minutes=30)  # within the hour before expiry
        server.delay("refresh", 10)  # longer than the client waits
        tokens.client.timeout = aiohttp.ClientTimeout(total=0.2)
        assert await tokens.access_token() == first
    finally:
        await tokens.client.close()


async def test_callers_at_once_share_one_refresh(
        store_factory: StoreFactory, server: FakeZaloOaServer, clock: FakeClock,
        tmp_path: Path) -> None:
    store = await store_factory.open()
    settings = settings_for(tmp_path, server)
    tokens = tokens_of(settings, store, clock)
    await tokens.client.open()
    try:
        await tokens.connect(server.issue_refresh_token())
        clock.advance(hours=25)
        server.delay("refresh", 0.2)
        got = await asyncio.gather(*(tokens.access_token() for _ in range(5)))
        assert len(set(got)) == 1
        assert [accepted for _, accepted in server.refreshes] == [True, True]
    finally:
        await tokens.client.close()


@pytest.mark.postgres
async def test_two_processes_refreshing_at_once_refresh_once(
        server: FakeZaloOaServer, clock: FakeClock, tmp_path: Path) -> None:
    async with postgres_schema() as schema:
        factory = StoreFactory(POSTGRES_URL, postgres_options(schema))
        first_store, second_store = await factory.open(), await factory.open()
        settings = settings_for(tmp_path, server)
        one, two = tokens_of(settings, first_store, clock), tokens_of(settings, second_store,
                                                                      clock)
        await one.client.open()
        await two.client.open()
        try:
            await one.connect(server.issue_refresh_token())
            stale = await one.access_token()
            clock.advance(hours=25)
            server.delay("refresh", 0.3)  # both are waiting while the first refresh is out
            got = await asyncio.gather(one.access_token(), two.after_refusal(stale))
            assert got[0] == got[1] != stale
            # the fake refuses a reused refresh token: a second refresh would show as refused
            assert [accepted for _, accepted in server.refreshes] == [True, True]
        finally:
            for tokens in (one, two):
                await tokens.client.close()
            for store in factory.opened:
                await store.close()


async def test_a_refused_refresh_says_what_to_do(
        store_factory: StoreFactory, server: FakeZaloOaServer, clock: FakeClock,
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = await store_factory.open()
    settings = settings_for(tmp_path, server)
    tokens = tokens_of(settings, store, clock)
    await tokens.client.open()
    try:
        with pytest.raises(NotConnected, match="admin zalo-oa connect --refresh-token"):
            await tokens.access_token()  # never connected
        await tokens.connect(server.issue_refresh_token())
        clock.advance(hours=25)
        server.fail_next("refresh", -14014)
        with caplog.at_level(logging.CRITICAL), pytest.raises(NotConnected):
            await tokens.access_token()
        # asked again, it neither offers the refused token to Zalo nor logs it again
        asked = len(server.refreshes)
        with pytest.raises(NotConnected):
            await tokens.access_token()
        assert len(server.refreshes) == asked
        [record] = [r for r in caplog.records if r.getMessage() == "zalo_oa.reconnect_needed"]
        assert "admin zalo-oa connect --refresh-token TOKEN" in record.fields["action"]
        # connected anew (as the command does), it works again
        await tokens.connect(server.issue_refresh_token())
        assert await tokens.access_token()
    finally:
        await tokens.client.close()
