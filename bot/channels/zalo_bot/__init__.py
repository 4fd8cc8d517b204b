"""The Zalo Bot Platform channel, on a thin aiohttp client: polling or webhook, numbered
options instead of buttons.

``_channel`` runs the bot, ``_updates`` reads an update into one of a closed set of events,
``_outgoing`` renders and sends replies, ``_errors`` maps the API's failures to delivery
errors, ``_api`` is the HTTP client.
"""

from bot.channels.zalo_bot._channel import (
    CAPABILITIES,
    SECRET_HEADER,
    WEBHOOK_PATH,
    ZaloBotChannel,
)
from bot.channels.zalo_bot._updates import CHANNEL

__all__ = ["CAPABILITIES", "CHANNEL", "SECRET_HEADER", "WEBHOOK_PATH", "ZaloBotChannel"]
