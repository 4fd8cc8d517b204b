"""The OA's access token: read from the database (sealed), refreshed ahead of its expiry by
one process at a time.

A refresh spends the refresh token, which Zalo takes once: two processes refreshing at once
would see one of them refused, and a pair not saved is a pair lost. So a refresh holds a lock
in this process and an advisory lock on PostgreSQL, reads the stored pair again once it holds
them (another process may just have refreshed it), and saves the new pair in one statement.
A refresh Zalo refuses leaves the administrator one line saying what to do.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from bot import logs
from bot.channels.zalo_oa._oa_client import ApiError, OaClient, OaError, TokenPair
from bot.security.identity import open_at_rest, seal_at_rest
from bot.security.privacy import Keyring
from bot.store import Store, zalo_oa
from bot.store.zalo_oa import StoredTokens

log = logging.getLogger(__name__)

REFRESH_LOCK = 0x7A616F61  # "zaoa": one refresh of the OA's tokens at a time across replicas
REFRESH_AHEAD = timedelta(hours=1)
"""An access token this close to its expiry is refreshed before use (it lasts ~25 hours)."""
REFRESH_TOKEN_LIFE = timedelta(days=90)
"""How long Zalo takes a refresh token (three months); the answer does not say."""
DEFAULT_ACCESS_LIFE = timedelta(hours=25)
RECONNECT = "pcmt-bot admin zalo-oa connect --refresh-token TOKEN"


class NotConnected(Exception):
    """No usable token: the OA was never connected, or Zalo refused the refresh token."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"{reason}; run {RECONNECT} with a new token from the Zalo "
                         "developer console")
        self.reason = reason


class Tokens:
    def __init__(self, store: Store, keyring: Keyring, client: OaClient,
                 clock: Callable[[], datetime]) -> None:
        self.store = store
        self.keyring = keyring
        self.client = client
        self.app_id = client.app_id
        self.clock = clock
        self._lock = asyncio.Lock()
        self._known: StoredTokens | None = None
        self._refused_token: str | None = None
        """The stored (sealed) refresh token Zalo refused: not offered again, nor logged again,
        until an administrator connects the OA anew."""

    @property
    def expires_at(self) -> datetime | None:
        """When the access token last seen expires."""
        return self._known.access_expires_at if self._known is not None else None

    async def access_token(self) -> str:
        """A token to call the API with, refreshed first when it is about to expire."""
        known = self._known
        if known is not None and known.access_expires_at - REFRESH_AHEAD > self.clock():
            return open_at_rest(self.keyring, known.access_token)
        return await self._refresh(refused=None)

    async def after_refusal(self, refused: str) -> str:
        """A token to try again with, after Zalo called ``refused`` invalid (-216): the one
        another process has saved since, or a fresh one."""
        return await self._refresh(refused=refused)

    async def connect(self, refresh_token: str) -> None:
        """Spend the refresh token from the OAuth consent on a first pair and save it."""
        async with self._lock, self.store.advisory_lock(REFRESH_LOCK):
            await self._save(await self.client.refresh(refresh_token))

    async def _refresh(self, *, refused: str | None) -> str:
        async with self._lock, self.store.advisory_lock(REFRESH_LOCK):
            async with self.store.transaction() as conn:
                stored = await zalo_oa.load_tokens(conn, self.app_id)
            if stored is None:
                raise NotConnected("the OA is not connected")
            self._known = stored
            access = open_at_rest(self.keyring, stored.access_token)
            now = self.clock()
            still_good = (access != refused if refused is not None
                          else stored.access_expires_at - REFRESH_AHEAD > now)
            if still_good:
                return access
            if stored.refresh_token == self._refused_token:
                raise NotConnected("Zalo refused the refresh token")
            if stored.refresh_expires_at <= now:
                self._refused(stored, "refresh token expired")
            try:
                pair = await self.client.refresh(open_at_rest(self.keyring,
                                                              stored.refresh_token))
            except OaError as exc:
                if isinstance(exc, ApiError):
                    self._refused(stored, f"Zalo refused the refresh token ({exc.reason})")
                if refused is None and stored.access_expires_at > now:
                    return access  # Zalo's OAuth is away; the token still works a while
                raise
            return await self._save(pair)

    async def _save(self, pair: TokenPair) -> str:
        now = self.clock()
        life = timedelta(seconds=pair.expires_in) if pair.expires_in > 0 else DEFAULT_ACCESS_LIFE
        stored = StoredTokens(seal_at_rest(self.keyring, pair.access_token),
                              seal_at_rest(self.keyring, pair.refresh_token),
                              now + life, now + REFRESH_TOKEN_LIFE)
        async with self.store.transaction() as conn:
            await zalo_oa.save_tokens(conn, self.app_id, stored, now)
        self._known = stored
        logs.event(log, "zalo_oa.token_refreshed", expires_in_s=round(life.total_seconds()))
        return pair.access_token

    def _refused(self, stored: StoredTokens, reason: str) -> None:
        self._refused_token = stored.refresh_token
        logs.event(log, "zalo_oa.reconnect_needed", logging.CRITICAL, reason=reason,
                   action=f"run {RECONNECT}")
        raise NotConnected(reason)
