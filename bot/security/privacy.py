"""Privacy primitives for anonymous reports: aliases, sealed values, signed buttons, tickets,
coarse times and metadata-free pictures.

Everything here is a pure function of its arguments; callers pass the key material, so nothing
in this module reads settings or touches the database.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import io
import math
import re
import secrets
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from typing import Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from PIL import Image, ImageOps

from bot.errors import ImageRejected, PrivacyError

Purpose = Literal["content", "handle"]
RejectReason = Literal["not_image", "too_large", "too_many_pixels"]

MIN_SECRET_BYTES = 32
CALLBACK_LIMIT = 64  # Telegram's limit on callback_data, the tightest of our channels

_SEAL_VERSION = 1
_NONCE_BYTES = 12
_TAG_BYTES = 16
_SIGN_TAG_BYTES = 8
_SIGN_SEPARATOR = "."  # never produced by urlsafe base64, so the last one always starts the tag
_HEX = re.compile(r"(?:[0-9a-fA-F]{2})+")


# --- keys ------------------------------------------------------------------------------------

class Keyring:
    """Subkeys derived from one master secret, one per use, so that leaking one use (say, the
    alias key through a timing bug) exposes neither sealed content nor reply handles."""

    __slots__ = ("_alias_key", "_boxes", "_sign_key", "fingerprint")

    def __init__(self, master: bytes) -> None:
        if len(master) < MIN_SECRET_BYTES:
            raise ValueError(f"the secret key must be at least {MIN_SECRET_BYTES} bytes, "
                             f"got {len(master)}")
        self._alias_key = _derive(master, b"alias")
        # Recorded in the database to recognise the key it belongs to; a derivation of its
        # own, so it tells nothing of the key or of the other subkeys.
        self.fingerprint = _b64(_derive(master, b"fingerprint"))
        self._sign_key = _derive(master, b"callback-signing")
        self._boxes: dict[str, AESGCM] = {
            "content": AESGCM(_derive(master, b"report-content")),
            "handle": AESGCM(_derive(master, b"reply-handle")),
        }

    @classmethod
    def from_text(cls, secret: str) -> Keyring:
        """A keyring from hex or (standard or urlsafe, padded or not) base64 text."""
        text = secret.strip()
        if _HEX.fullmatch(text):
            master = bytes.fromhex(text)
        else:
            unified = text.replace("-", "+").replace("_", "/").rstrip("=")
            try:
                master = base64.b64decode(unified + "=" * (-len(unified) % 4), validate=True)
            except (binascii.Error, ValueError):
                raise ValueError(
                    "the secret key must be hex or base64 text of at least "
                    f"{MIN_SECRET_BYTES} random bytes (for example the output of "
                    "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`)") from None
        if len(master) < MIN_SECRET_BYTES:
            raise ValueError(f"the secret key must encode at least {MIN_SECRET_BYTES} random "
                             f"bytes, this one encodes {len(master)}")
        return cls(master)

    def __repr__(self) -> str:
        return "Keyring(<secret>)"

    def alias(self, channel: str, user_id: str) -> str:
        """A stable one-way stand-in for ``user_id`` that differs from channel to channel."""
        scope = channel.encode()
        # the length prefix keeps ("ab", "c") and ("a", "bc") apart
        message = len(scope).to_bytes(4, "big") + scope + user_id.encode()
        digest = hmac.new(self._alias_key, message, hashlib.sha256).digest()
        return _b64(digest)

    def seal(self, plaintext: bytes, *, purpose: Purpose, associated: bytes = b"") -> bytes:
        """AES-256-GCM: version byte, random 96-bit nonce, ciphertext and tag.

        ``associated`` (e.g. the ticket) is authenticated but not stored: the token opens only
        with the same value, so a sealed column cannot be moved onto another row.
        """
        nonce = secrets.token_bytes(_NONCE_BYTES)
        header = bytes([_SEAL_VERSION])
        return header + nonce + self._box(purpose).encrypt(nonce, plaintext, header + associated)

    def open(self, token: bytes, *, purpose: Purpose, associated: bytes = b"") -> bytes:
        box = self._box(purpose)
        if len(token) < 1 + _NONCE_BYTES + _TAG_BYTES or token[0] != _SEAL_VERSION:
            raise PrivacyError("sealed value is malformed")
        nonce, body = token[1:1 + _NONCE_BYTES], token[1 + _NONCE_BYTES:]
        try:
            return box.decrypt(nonce, body, token[:1] + associated)
        except InvalidTag:
            raise PrivacyError("sealed value failed authentication") from None

    def seal_text(self, text: str, *, purpose: Purpose, associated: bytes = b"") -> bytes:
        return self.seal(text.encode(), purpose=purpose, associated=associated)

    def open_text(self, token: bytes, *, purpose: Purpose, associated: bytes = b"") -> str:
        plain = self.open(token, purpose=purpose, associated=associated)
        try:
            return plain.decode()
        except UnicodeDecodeError:
            raise PrivacyError("sealed value is not text") from None

    def sign(self, payload: str) -> str:
        """``payload`` with a short tag appended, for button data a user could otherwise forge.

        Raises ValueError when the result would not fit Telegram's callback data.
        """
        signed = f"{payload}{_SIGN_SEPARATOR}{self._tag(payload)}"
        if len(signed.encode()) > CALLBACK_LIMIT:
            raise ValueError(f"signed payload is {len(signed.encode())} bytes, "
                             f"more than {CALLBACK_LIMIT}")
        return signed

    def verify(self, signed: str) -> str | None:
        """The payload, or None when the tag is missing or does not match."""
        payload, separator, tag = signed.rpartition(_SIGN_SEPARATOR)
        if not separator:
            return None
        if hmac.compare_digest(tag.encode(), self._tag(payload).encode()):
            return payload
        return None

    def _tag(self, payload: str) -> str:
        digest = hmac.new(self._sign_key, payload.encode(), hashlib.sha256).digest()
        return _b64(digest[:_SIGN_TAG_BYTES])

    def _box(self, purpose: Purpose) -> AESGCM:
        try:
            return self._boxes[purpose]
        except KeyError:
            raise ValueError(f"unknown sealing purpose {purpose!r}") from None


def _derive(master: bytes, use: bytes) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"pcmt-bot keyring",
                info=b"pcmt-bot/v1/" + use)
    return hkdf.derive(master)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


# --- ticket codes ----------------------------------------------------------------------------

TICKET_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
TICKET_SYMBOLS = 12
TICKET_GROUP = 4
TICKET_BITS = TICKET_SYMBOLS * math.log2(len(TICKET_ALPHABET))
PASSPHRASE_SYMBOLS = 8
"""40 bits: far beyond guessing through a chat, and the ticket must be known first."""
_CONFUSABLES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212_.]+")


def new_ticket_code() -> str:
    """A random code like ``K7F3-9QMX-T2M4``: 12 symbols of 32, so 60 bits of entropy.

    It is the reporter's only key to their report, so it is drawn from ``secrets`` and never
    derived from a counter or a time.
    """
    return _random_code(TICKET_SYMBOLS)


def new_passphrase() -> str:
    """The reporter's second secret, like ``7K3P-92QX``: the ticket names a report (police
    see it), the passphrase proves who filed it."""
    return _random_code(PASSPHRASE_SYMBOLS)


def _random_code(length: int) -> str:
    return _group("".join(secrets.choice(TICKET_ALPHABET) for _ in range(length)))


def normalize_ticket_code(text: str) -> str | None:
    """The canonical form of a typed code, forgiving case, spacing, missing dashes and the
    letters people type for digits (O for 0, I or L for 1); None when it cannot be a code."""
    read = read_ticket(text)
    return read[0] if read is not None and read[1] is None else None


def read_ticket(text: str) -> tuple[str, str | None] | None:
    """A typed ticket, alone or followed by its passphrase (in any spacing): the ticket and
    the passphrase or None; None when the text is neither."""
    folded = _SEPARATORS.sub("", unicodedata.normalize("NFKC", text)).upper()
    symbols = folded.translate(_CONFUSABLES)
    if any(s not in TICKET_ALPHABET for s in symbols):
        return None
    if len(symbols) == TICKET_SYMBOLS:
        return _group(symbols), None
    if len(symbols) == TICKET_SYMBOLS + PASSPHRASE_SYMBOLS:
        return _group(symbols[:TICKET_SYMBOLS]), _group(symbols[TICKET_SYMBOLS:])
    return None


def _group(symbols: str) -> str:
    return "-".join(symbols[i:i + TICKET_GROUP] for i in range(0, len(symbols), TICKET_GROUP))


# --- pictures --------------------------------------------------------------------------------

IMAGE_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
MAX_PIXELS = 50_000_000  # a 50-megapixel phone photo; beyond that it is a bomb, not evidence
MAX_DECODED_BYTES = 48_000_000
"""What one decoded picture may take in memory (width x height x bands, after JPEG's reduced
decode): 16 megapixels in RGB. A file of a few kilobytes can declare far more: a 7000 x 7000
WEBP of 2 KB is under :data:`MAX_PIXELS` and decodes to 196 MB before any copy."""
MAX_DECODES = 2
"""Pictures decoded at once, in the whole process; others wait their turn."""
# Decoding happens on these threads only, whichever thread asks. Beyond the cap, this bounds
# what the allocator keeps: each thread has its own malloc arena, which holds on to the
# memory of the largest picture it decoded, so decoding on every worker of asyncio's pool
# would keep one such picture per worker.
_decoders = ThreadPoolExecutor(MAX_DECODES, thread_name_prefix="pcmt-decode")


def sanitize_image(data: bytes, *, max_bytes: int = 10_000_000, max_side: int = 2560,
                   max_pixels: int = MAX_PIXELS,
                   max_decoded_bytes: int = MAX_DECODED_BYTES) -> bytes:
    """A fresh JPEG holding only the pixels of ``data``: upright, at most ``max_side`` on its
    longest side, with no EXIF, GPS, XMP, ICC profile, comment or thumbnail.

    Blocking and memory-hungry: call it off the event loop. At most :data:`MAX_DECODES` run at
    once, so the memory of many uploads together stays bounded.

    Colour profiles are dropped rather than applied: a wide-gamut photo loses a little
    saturation, which is cheaper than parsing an untrusted profile.
    """
    if len(data) > max_bytes:
        raise ImageRejected("too_large")
    image = _open(data, max_side=max_side, max_pixels=max_pixels,
                  max_decoded_bytes=max_decoded_bytes)
    return _decoders.submit(_reencode, image, max_side).result()


def _reencode(image: Image.Image, max_side: int) -> bytes:
    picture = _decode(image)
    picture.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    # a new image copies no ``info`` (Pillow would otherwise write a JPEG comment back out)
    fresh = Image.new("RGB", picture.size)
    fresh.paste(picture)
    out = io.BytesIO()
    fresh.save(out, format="JPEG", quality=85, optimize=True)
    return out.getvalue()


def _open(data: bytes, *, max_side: int, max_pixels: int,
          max_decoded_bytes: int) -> Image.Image:
    """The picture with only its header read, refused when decoding it would cost too much."""
    try:
        image = Image.open(io.BytesIO(data), formats=IMAGE_FORMATS)
        width, height = image.size
        if width * height > max_pixels:
            raise ImageRejected("too_many_pixels")
        scale = max_side / max(width, height)
        if scale < 1:  # JPEG can decode straight at 1/2, 1/4 or 1/8 size, sparing memory
            image.draft(None, (math.ceil(width * scale), math.ceil(height * scale)))
        width, height = image.size  # the size it will decode at
        # every picture becomes RGB at least, whatever fewer bands it decodes to
        if width * height * max(len(image.getbands()), 3) > max_decoded_bytes:
            raise ImageRejected("too_many_pixels")
    except ImageRejected:
        raise
    except Image.DecompressionBombError:
        raise ImageRejected("too_many_pixels") from None
    except Exception:  # hostile input makes Pillow's parsers raise many kinds of errors
        raise ImageRejected("not_image") from None
    return image


def _decode(image: Image.Image) -> Image.Image:
    try:
        image.load()
    except Image.DecompressionBombError:
        raise ImageRejected("too_many_pixels") from None
    except Exception:  # a header that promised a picture the data does not hold
        raise ImageRejected("not_image") from None
    return _flatten(_upright(image))


def _upright(image: Image.Image) -> Image.Image:
    try:
        return ImageOps.exif_transpose(image)
    except Exception:  # broken metadata should not cost a usable picture its place
        return image


def _flatten(image: Image.Image) -> Image.Image:
    """RGB, with transparent areas on white rather than the black a plain convert gives."""
    if not image.has_transparency_data:
        return image.convert("RGB")
    rgba = image.convert("RGBA")
    white = Image.new("RGB", rgba.size, (255, 255, 255))
    white.paste(rgba, mask=rgba.getchannel("A"))
    return white
