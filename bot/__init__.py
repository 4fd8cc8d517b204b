"""pcmt-bot: a drug-prevention assistant for Vietnam on Telegram, Zalo and the console."""

__version__ = "0.1.0"
