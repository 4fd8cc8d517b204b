"""The Zalo Official Account channel, on a thin aiohttp client: a signed webhook, button
templates, OAuth tokens that rotate, and Zalo's messaging windows.

``channel`` runs it, ``_oa_events`` reads a webhook body into one of a closed set of events,
``_outgoing`` renders and sends replies within the windows, ``_oa_errors`` maps the API's
failures to delivery errors, ``_tokens`` keeps the access token fresh, ``_oa_client`` is the
HTTP client.
"""

from bot.channels.zalo_oa._oa_events import CHANNEL
from bot.channels.zalo_oa._tokens import NotConnected, Tokens
from bot.channels.zalo_oa.channel import (
    CAPABILITIES,
    SIGNATURE_HEADER,
    WEBHOOK_PATH,
    ZaloOaChannel,
)

__all__ = ["CAPABILITIES", "CHANNEL", "SIGNATURE_HEADER", "WEBHOOK_PATH", "NotConnected",
           "Tokens", "ZaloOaChannel"]
