"""How people are recognised without being stored: pseudonyms and sealed values.

Pseudonyms are keyed hashes that stand for platform ids wherever the database needs to
recognise a returning person or chat, so that no table holds a raw platform id. Values that
must be readable again later (a reporter's address in the outbox, report text in a queued
police card) are stored sealed and opened only at the moment of use.
"""

from __future__ import annotations

import base64

from bot.security.privacy import Keyring

SEALED = "sealed:"
_BASE64 = "~"
"""After :data:`SEALED`, marks base64 (a hex digit never starts the older hex form). A year
of deadline reminders queues some 600,000 sealed payloads: base64 writes a third less than hex."""


class Pseudonyms:
    def __init__(self, keyring: Keyring) -> None:
        self._keyring = keyring

    def user(self, channel: str, user_id: str) -> str:
        return self._keyring.alias(f"user/{channel}", user_id)

    def chat(self, channel: str, chat_id: str) -> str:
        return self._keyring.alias(f"chat/{channel}", chat_id)

    def window(self, channel: str, chat_id: str) -> str:
        """The alias of a chat's messaging window (when they last wrote); unrelated to
        :meth:`chat` so that the time does not join to a person."""
        return self._keyring.alias(f"window/{channel}", chat_id)

    def message(self, channel: str, message_id: str) -> str:
        """The alias a platform's message id is recognised by when it is delivered again."""
        return self._keyring.alias(f"message/{channel}", message_id)

    def held(self, channel: str, chat_id: str) -> str:
        """The alias that marks the messages held for a chat until its window opens again;
        unrelated to :meth:`chat`, since a held message may be a report's."""
        return self._keyring.alias(f"held/{channel}", chat_id)

    def reporter(self, channel: str, user_id: str) -> str:
        """The alias abuse limits count reports by; unrelated to :meth:`user` by design."""
        return self._keyring.alias(f"reporter/{channel}", user_id)


def seal_at_rest(keyring: Keyring, value: str) -> str:
    token = base64.b64encode(keyring.seal_text(value, purpose="handle")).decode("ascii")
    return f"{SEALED}{_BASE64}{token}"


def open_at_rest(keyring: Keyring, stored: str) -> str:
    """The value behind ``stored``; values that were never sealed come back unchanged, and
    values sealed in hex before base64 open as well."""
    if not stored.startswith(SEALED):
        return stored
    body = stored[len(SEALED):]
    token = (base64.b64decode(body[1:], validate=True) if body.startswith(_BASE64)
             else bytes.fromhex(body))
    return keyring.open_text(token, purpose="handle")
