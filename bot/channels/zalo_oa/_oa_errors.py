"""The one place where the OA API's failures become the bot's delivery errors.

Codes as Zalo's documentation and integrators report them (the tests run against a fake
built from those): -216 the access token is invalid (refreshed once and the send retried
once, before anything here sees it), -32 too many calls, -211 the OA's quota is spent,
-230 the person has not written to the OA in 7 days, -213 they do not follow the OA (or
unfollowed it), -201 a parameter Zalo refuses. Anything else Zalo says is recorded and not
retried; silence from the network is taken as passing.
"""

from __future__ import annotations

from bot.channels.zalo_oa._oa_client import ApiError, OaError
from bot.errors import DeliveryError, OutsideWindow, RetryLater, Undeliverable, Unreachable

TOKEN_INVALID = -216
RATE_LIMITED = -32
OUT_OF_QUOTA = -211
NOT_FOLLOWER = -213
NO_INTERACTION = -230
BAD_PARAMETER = -201


def token_invalid(exc: OaError) -> bool:
    return isinstance(exc, ApiError) and exc.code == TOKEN_INVALID


def rate_limited(exc: OaError) -> bool:
    return isinstance(exc, ApiError) and exc.code == RATE_LIMITED


def delivery_error(exc: OaError, *, rate_wait: float) -> DeliveryError:
    """What delivery should do about ``exc``. ``rate_wait`` is how long to hold the channel
    back when Zalo says too many calls, since it does not say for how long.

    The reason is short and fixed: it is stored with outbox rows and written to logs.
    """
    if not isinstance(exc, ApiError):
        return RetryLater(f"zalo_oa {exc.reason}")
    code = exc.code
    if code == RATE_LIMITED:
        return RetryLater("zalo_oa rate limited", retry_after=rate_wait)
    if code == TOKEN_INVALID:
        # refreshed and retried already: nothing sends until the OA is connected again
        return RetryLater("zalo_oa token refused")
    if code == OUT_OF_QUOTA:
        return RetryLater("zalo_oa quota spent")
    if code == NO_INTERACTION:
        return OutsideWindow("zalo_oa: no message from them in 7 days")
    if code == NOT_FOLLOWER:
        return Unreachable("zalo_oa: not a follower")
    if code is None or code >= 500:
        return RetryLater(f"zalo_oa error {code}")
    return Undeliverable(f"zalo_oa error {code}")
