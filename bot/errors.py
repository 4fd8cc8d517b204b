"""The one root exception of pcmt-bot and the typed errors callers can act on.

::

    PcmtError
    ├── ConfigError            a setting is missing or malformed: exit 2 with one line
    ├── StoreError             the database could not be opened or migrated
    ├── RoutingConflict        two routers claim the same command, button prefix or flow
    ├── BadCallback            button data that no longer (or never did) unpack
    ├── DeliveryError          a channel could not deliver a message
    │   ├── RetryLater         transient: rate limit, timeout, network, server error
    │   ├── Unreachable        the recipient blocked the bot or left the chat
    │   │   └── OutsideWindow  the platform's window for writing to them has closed
    │   ├── Undeliverable      the message itself is wrong for the platform
    │   └── Unconfirmed        sent, but the platform's answer could not be read
    ├── PrivacyError           a sealed value that does not open
    │   └── ImageRejected      an upload that is not a picture we decode
    ├── KnowledgeBaseError     a malformed knowledge-base file
    └── DeadlineRulesError     a deadline rules file with problems (each with its line)
"""

from __future__ import annotations


class PcmtError(Exception):
    """Root of every error pcmt-bot raises on purpose."""


class ConfigError(PcmtError):
    """A setting is missing or malformed; start-up stops with one clear line."""

    def __init__(self, setting: str, problem: str) -> None:
        super().__init__(f"invalid setting {setting}: {problem}")
        self.setting = setting
        self.problem = problem


class StoreError(PcmtError):
    """The database could not be opened or migrated."""


class RoutingConflict(PcmtError):
    """Two routers claim the same command, button prefix or flow: a programming error found at
    start-up rather than by the person whose button reached the wrong handler."""


class BadCallback(PcmtError):
    """Button data that does not unpack into the kind of button it claims to be: an old
    keyboard from a previous version, or a forged press."""


class DeliveryError(PcmtError):
    """A channel could not deliver a message. Subclasses tell the outbox what to do next."""


class RetryLater(DeliveryError):
    """Transient failure (rate limit, timeout, network, server error): try again later."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class Unreachable(DeliveryError):
    """The recipient cannot be reached any more (blocked the bot, left the chat)."""


class OutsideWindow(Unreachable):
    """The platform lets a bot write to someone only for a while after they last wrote (Zalo
    OA: 7 days), and that time is over: they are unreachable until they write again, and no
    retry helps before then."""


class Undeliverable(DeliveryError):
    """The message itself is wrong for the platform; retrying would fail the same way."""


class Unconfirmed(DeliveryError):
    """The request went out but its answer could not be read (malformed, or an error the
    mapping does not know): the message may have arrived, so it is not sent blindly again."""


class PrivacyError(PcmtError):
    """A sealed value could not be opened: tampered with, truncated, or sealed for another use."""


class ImageRejected(PrivacyError):
    """An upload that is not a picture we are willing to decode; ``reason`` says which way."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class KnowledgeBaseError(PcmtError):
    """A knowledge-base file is missing, malformed, or disagrees with its translation."""


class DeadlineRulesError(PcmtError):
    """A deadline rules file that cannot be loaded; ``problems`` are ``file:line: what``."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems
