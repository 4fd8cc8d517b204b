"""The Telegram channel, on python-telegram-bot: polling or webhook, inline keyboards.

``_channel`` runs the bot, ``_updates`` reads an update into one of a closed set of events,
``_outgoing`` sends replies (and holds Telegram's budgets), ``_render`` turns a neutral reply
into Telegram's text and keyboard, ``_errors`` maps the library's exceptions to delivery
errors, ``_bot`` holds the library subclasses.
"""

from bot.channels.telegram._channel import (
    SECRET_HEADER,
    WEBHOOK_PATH,
    TelegramChannel,
    webhook_secret,
)
from bot.channels.telegram._outgoing import NO_PREVIEW, Budgets

__all__ = ["NO_PREVIEW", "SECRET_HEADER", "WEBHOOK_PATH", "Budgets", "TelegramChannel",
           "webhook_secret"]
