"""The one place where the Zalo Bot API's failures become the bot's delivery errors.

Zalo documents few error codes; what is known: 401 (the token is wrong or revoked), 429
("quota exceeded", with no retry-after), 408 (a timeout), 400 (a bad request), 403 and 404
(the person cannot be written to, or is not known to this bot). Anything else from the server
or the network is taken as passing.
"""

from __future__ import annotations

from bot.channels.zalo_bot._api import TOKEN_REJECTED, ApiError, ZaloError
from bot.errors import DeliveryError, RetryLater, Undeliverable, Unreachable

QUOTA_EXCEEDED = 429
_GONE = frozenset({403, 404})


def token_rejected(exc: ZaloError) -> bool:
    return isinstance(exc, ApiError) and exc.code == TOKEN_REJECTED


def delivery_error(exc: ZaloError, *, quota_wait: float) -> DeliveryError:
    """What delivery should do about ``exc``. ``quota_wait`` is how long to hold the channel
    back on a 429, since Zalo does not say.

    The reason is short and fixed: it is stored with outbox rows and written to logs.
    """
    if not isinstance(exc, ApiError):
        return RetryLater(f"zalo {exc.reason}")
    if exc.code == QUOTA_EXCEEDED:
        return RetryLater("zalo quota exceeded", retry_after=quota_wait)
    if exc.code == TOKEN_REJECTED:
        # Nothing sends until an operator fixes the token, so the rows are kept.
        return RetryLater("zalo rejected the bot token")
    if exc.code in _GONE:
        return Unreachable(f"zalo: {exc.code}")
    if exc.code == 400:
        # Only the fixed head of the description (before any detail that could echo content).
        return Undeliverable(f"zalo bad request: {exc.description.split(':', 1)[0][:40]}")
    return RetryLater(f"zalo error {exc.code}")
