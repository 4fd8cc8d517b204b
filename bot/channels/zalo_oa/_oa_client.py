"""A thin client of Zalo's OAuth v4 and OA Open API v3, on aiohttp.

Zalo answers most failures with HTTP 200 and ``{error: <negative code>, message}``: an answer
is a success only when ``error`` is 0 (or, from OAuth, when it carries the tokens). What goes
wrong comes out as :class:`OaError` only (:class:`ApiError` when Zalo answered,
:class:`NetworkError` when it did not), and neither carries a token, a URL or Zalo's message,
which may echo what was sent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aiohttp

from bot.channels.zalo_shared import DownloadFailed, download, read_at_most

MAX_REPLY_BYTES = 256 * 1024
"""Largest answer read; a sent message's or a token's answer is a few hundred bytes."""
TOKEN_PATH = "/v4/oa/access_token"  # noqa: S105 - a path
MESSAGE_PATH = "/v3.0/oa/message/cs"


class OaError(Exception):
    """A call to Zalo that did not succeed."""

    def __init__(self, call: str, reason: str) -> None:
        super().__init__(f"{call}: {reason}")
        self.call = call
        self.reason = reason


class ApiError(OaError):
    """Zalo answered with an error code (or with something that is no answer of its API)."""

    def __init__(self, call: str, code: int | None) -> None:
        super().__init__(call, f"error {code}")
        self.code = code


class NetworkError(OaError):
    """No answer: a timeout, a refused or broken connection."""


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: float
    """Seconds the access token lasts (about 25 hours)."""


class OaClient:
    """``await client.open()`` before the first call, ``await client.close()`` after the last."""

    def __init__(self, *, api_url: str, oauth_url: str, app_id: str, app_secret: str,
                 timeout: float, connections: int) -> None:
        self.message_url = api_url.rstrip("/") + MESSAGE_PATH
        self.token_url = oauth_url.rstrip("/") + TOKEN_PATH
        self.app_id = app_id
        self._app_secret = app_secret
        self.seconds = timeout
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connections + 2))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def refresh(self, refresh_token: str) -> TokenPair:
        """A new pair for ``refresh_token``, which Zalo will not take again."""
        body = await self._post("refresh", self.token_url, headers={
            "secret_key": self._app_secret}, data={
            "refresh_token": refresh_token, "app_id": self.app_id,
            "grant_type": "refresh_token"})
        access, refresh = body.get("access_token"), body.get("refresh_token")
        if not (isinstance(access, str) and access and isinstance(refresh, str) and refresh):
            raise ApiError("refresh", _code(body) or None)
        try:
            expires_in = float(body.get("expires_in", 0))
        except (TypeError, ValueError):
            expires_in = 0.0
        return TokenPair(access, refresh, expires_in)

    async def send(self, access_token: str, recipient: dict[str, str],
                   message: dict[str, Any]) -> None:
        """Send ``message`` (text, maybe an attachment) to ``recipient`` (``message_id`` for a
        reply to what the person sent, or ``user_id``)."""
        body = await self._post("send", self.message_url, headers={
            "access_token": access_token}, json={"recipient": recipient, "message": message})
        if _code(body) != 0:
            raise ApiError("send", _code(body))

    async def download(self, url: str, max_bytes: int) -> bytes | None:
        """A photo a person sent, or None when larger than ``max_bytes``; raises
        :class:`NetworkError`."""
        if self._session is None:
            raise NetworkError("download", "client closed")
        try:
            return await download(self._session, url, max_bytes, 3 * self.seconds)
        except DownloadFailed as exc:
            raise NetworkError("download", exc.reason) from None

    async def _post(self, call: str, url: str, **request: Any) -> dict[str, Any]:
        if self._session is None:
            raise NetworkError(call, "client closed")
        try:
            async with self._session.post(url, timeout=self.timeout, **request) as response:
                status = response.status
                raw = await read_at_most(response.content, MAX_REPLY_BYTES)
        except TimeoutError:
            raise NetworkError(call, "timeout") from None
        except aiohttp.ClientError as exc:
            raise NetworkError(call, type(exc).__name__) from None
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):
            body = None
        if not isinstance(body, dict):
            # A proxy's error page, or a truncated answer: the HTTP status is all there is.
            raise ApiError(call, status if status != 200 else None)
        if status >= 400 and not _code(body):
            raise ApiError(call, status)
        return body


def _code(body: dict[str, Any]) -> int | None:
    """The answer's error code: 0 for success, None when it names none."""
    code = body.get("error", 0)
    if isinstance(code, str) and code.lstrip("-").isdigit():
        code = int(code)
    return code if isinstance(code, int) and not isinstance(code, bool) else None
