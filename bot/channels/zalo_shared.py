"""What Zalo's two platforms (the Bot Platform and Official Accounts) share: the 2,000
character text limit, how a platform id is read, a message id made into an update number,
bounded reading of an answer, and the text a reply becomes.

Neither platform is handed a report's photos: both take a picture only at a public address
or once uploaded to Zalo's servers, and a report's evidence stays sealed with us. A reply's
pictures become a line saying how many there are and where to see them.
"""

from __future__ import annotations

import hashlib

import aiohttp

from bot.channels.split import split_text, utf16_units
from bot.conversation.i18n import gettext, use_language
from bot.conversation.messages import Reply
from bot.text import clean_platform_text

MAX_TEXT = 2000
"""Zalo's limit for one message's text, counted in UTF-16 units (the stricter reading)."""
MAX_ID = 64
"""Longest platform id accepted (Zalo's are 20 hexadecimal or decimal characters)."""


def platform_id(value: object) -> str | None:
    """A platform id as text; ids are strings on Zalo, numbers are taken too."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    cleaned = clean_platform_text(value).strip()
    return cleaned if 0 < len(cleaned) <= MAX_ID and cleaned.isprintable() else None


def update_id(message_id: str) -> int:
    """A whole number that stands for a message id (a string longer than a BIGINT holds),
    for the recent-id guard and the table of updates already handled."""
    return int.from_bytes(hashlib.sha256(message_id.encode()).digest()[:8], "big") >> 1


async def read_at_most(content: aiohttp.StreamReader, limit: int) -> bytes:
    """The body, or its first bytes past ``limit`` (enough to tell it is too long)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in content.iter_chunked(64 * 1024):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            break
    return b"".join(chunks)


class DownloadFailed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def download(session: aiohttp.ClientSession, url: str, max_bytes: int,
                   seconds: float) -> bytes | None:
    """The file at ``url`` (a photo a person sent; Zalo's links are public and expire), or
    None when it is larger than ``max_bytes``; raises :class:`DownloadFailed`."""
    if not url.startswith(("https://", "http://")):
        raise DownloadFailed("not a web address")
    try:
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=seconds)) as response:
            if response.status != 200:
                raise DownloadFailed(f"HTTP {response.status}")
            if (response.content_length or 0) > max_bytes:
                return None
            data = await read_at_most(response.content, max_bytes)
    except TimeoutError:
        raise DownloadFailed("timeout") from None
    except aiohttp.ClientError as exc:
        raise DownloadFailed(type(exc).__name__) from None
    return None if len(data) > max_bytes else data


def text_parts(reply: Reply, language: str, *, numbered: bool) -> list[str]:
    """The texts ``reply`` takes on Zalo, in order: its text, a line for withheld photos, and
    (``numbered``) its options as numbered lines with a line saying how to choose."""
    blocks = [reply.text]
    with use_language(language):
        if reply.photos:
            blocks.append(gettext("zalo_bot.photos_withheld", count=len(reply.photos)))
        if numbered and reply.options:
            first = reply.first_number
            blocks.append("\n".join(f"{number}. {option.label}" for number, option
                                    in enumerate(reply.options, start=first)))
            last = first + len(reply.options) - 1
            blocks.append(gettext("zalo_bot.choose_one", number=first) if first == last
                          else gettext("zalo_bot.choose", first=first, last=last))
    return split_text("\n\n".join(block for block in blocks if block.strip()), MAX_TEXT,
                      utf16_units)
