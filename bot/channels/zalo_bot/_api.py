"""A thin client of the Zalo Bot Platform's HTTP API, on aiohttp.

Every method is a POST of a JSON object to ``<base><token>/<method>``, and every answer is
``{ok, result?, error_code?, description?}``: an HTTP 200 alone is not success, ``ok`` is.
What goes wrong comes out as :class:`ZaloError` only (:class:`ApiError` when Zalo answered,
:class:`NetworkError` when it did not), and neither carries the URL: the token is in its path.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from bot.channels.zalo_shared import DownloadFailed, download, read_at_most

MAX_REPLY_BYTES = 1024 * 1024
"""Largest Bot API answer read; an update or a sent message is a few hundred bytes."""
POLL_EMPTY = 408
"""The error code of a long poll that found nothing new."""
TOKEN_REJECTED = 401


class ZaloError(Exception):
    """A Bot API call that did not succeed."""

    def __init__(self, method: str, reason: str) -> None:
        super().__init__(f"{method}: {reason}")
        self.method = method
        self.reason = reason


class ApiError(ZaloError):
    """Zalo answered ``ok: false`` (or something that is no Bot API answer at all)."""

    def __init__(self, method: str, code: int | None, description: str) -> None:
        # The description stays out of the reason, which logs carry: some platforms echo
        # in it what was sent.
        super().__init__(method, f"error {code}")
        self.code = code
        self.description = description


class NetworkError(ZaloError):
    """No answer: a timeout, a refused or broken connection."""


class BotApi:
    """``await api.open()`` before the first call, ``await api.close()`` after the last."""

    def __init__(self, token: str, base_url: str, timeout: float, connections: int) -> None:
        self._prefix = f"{base_url}{token}/"
        self.timeout = timeout
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        if self._session is None:
            # Polling holds one connection for its whole wait; sends need their own.
            connector = aiohttp.TCPConnector(limit=self._connections + 2)
            self._session = aiohttp.ClientSession(connector=connector)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def call(self, method: str, payload: dict[str, Any] | None = None, *,
                   seconds: float | None = None) -> Any:
        """The ``result`` of ``method``; raises :class:`ZaloError`."""
        if self._session is None:
            raise NetworkError(method, "client closed")
        limit = aiohttp.ClientTimeout(total=seconds or self.timeout)
        try:
            async with self._session.post(self._prefix + method, json=payload or {},
                                          timeout=limit) as response:
                status = response.status
                raw = await read_at_most(response.content, MAX_REPLY_BYTES)
        except TimeoutError:
            raise NetworkError(method, "timeout") from None
        except aiohttp.ClientError as exc:
            raise NetworkError(method, type(exc).__name__) from None
        return _result(method, status, raw)

    async def get_me(self) -> None:
        """Raises unless Zalo knows the token."""
        await self.call("getMe")

    async def get_updates(self, wait: int) -> list[object]:
        """What arrived within ``wait`` seconds: Zalo hands over one update a call, and an
        empty poll comes back as error 408, which is no error here."""
        try:
            # The timeout goes as a string, as Zalo documents it; the request may last that
            # long plus the usual time of a call.
            result = await self.call("getUpdates", {"timeout": str(wait)},
                                     seconds=wait + self.timeout)
        except ApiError as exc:
            if exc.code == POLL_EMPTY:
                return []
            raise
        if result is None:
            return []
        return list(result) if isinstance(result, list) else [result]

    async def set_webhook(self, url: str, secret: str) -> None:
        await self.call("setWebhook", {"url": url, "secret_token": secret})

    async def delete_webhook(self) -> None:
        await self.call("deleteWebhook")

    async def webhook_url(self) -> str:
        """The webhook Zalo posts to now, or "" when it expects to be polled."""
        result = await self.call("getWebhookInfo")
        url = result.get("url") if isinstance(result, dict) else None
        return url if isinstance(url, str) else ""

    async def send_message(self, chat_id: str, text: str) -> None:
        await self.call("sendMessage", {"chat_id": chat_id, "text": text})

    async def download(self, url: str, max_bytes: int) -> bytes | None:
        """The file at ``url``, or None when it is larger than ``max_bytes``; raises
        :class:`NetworkError`."""
        if self._session is None:
            raise NetworkError("download", "client closed")
        try:
            return await download(self._session, url, max_bytes, 3 * self.timeout)
        except DownloadFailed as exc:
            raise NetworkError("download", exc.reason) from None


def _result(method: str, status: int, raw: bytes) -> Any:
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        body = None
    if not isinstance(body, dict):
        # A proxy's error page, or a truncated answer: the HTTP status is all there is.
        raise ApiError(method, status if status != 200 else None, "not a Bot API answer")
    if body.get("ok") is True:
        return body.get("result")
    code = body.get("error_code")
    if not isinstance(code, int) or isinstance(code, bool):
        code = status if status != 200 else None
    description = body.get("description")
    raise ApiError(method, code, description if isinstance(description, str) else "")
