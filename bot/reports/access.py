"""Who may read a report's police questions and add to it.

The ticket names a report and police see it on every card, so it alone only shows the status.
Reading questions and writing to police need the passphrase given with the ticket, or a
button from a message the bot sent to the reporter's own chat: such buttons carry an access
key derived from the ticket that no police-facing message ever holds.

The passphrase is kept as a hash keyed with the master key. Whoever holds the database and the
key can already open every report, so a slower hash would protect nothing more.
"""

from __future__ import annotations

import hmac

from bot.security.privacy import Keyring
from bot.store.reports import Report

ACCESS_KEY_LENGTH = 16
"""96 bits of the keyed digest: enough against guessing, small enough for button data."""


def passphrase_hash(keyring: Keyring, ticket: str, passphrase: str) -> str:
    return keyring.alias(f"passphrase/{ticket}", passphrase)


def access_key(keyring: Keyring, ticket: str) -> str:
    return keyring.alias("report-access", ticket)[:ACCESS_KEY_LENGTH]


def opened_by_passphrase(keyring: Keyring, report: Report, passphrase: str) -> bool:
    """False for a wrong passphrase and for a report filed before passphrases existed."""
    if report.passphrase_hash is None:
        return False
    return hmac.compare_digest(passphrase_hash(keyring, report.ticket, passphrase),
                               report.passphrase_hash)


def opened_by_key(keyring: Keyring, report: Report, key: str) -> bool:
    return bool(key) and hmac.compare_digest(access_key(keyring, report.ticket), key)
