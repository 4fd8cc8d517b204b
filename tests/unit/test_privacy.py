"""Privacy primitives: aliases, sealing, signed buttons, tickets, time buckets, clean pictures."""

from __future__ import annotations

import base64
import io
import math
import re
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image, ImageCms

from bot.errors import ImageRejected, PrivacyError
from bot.security.identity import SEALED, open_at_rest, seal_at_rest
from bot.security.privacy import (
    CALLBACK_LIMIT,
    TICKET_ALPHABET,
    TICKET_BITS,
    TICKET_SYMBOLS,
    Keyring,
    Purpose,
    new_ticket_code,
    normalize_ticket_code,
    sanitize_image,
)

MASTER = bytes(range(32))
KEYRING = Keyring(MASTER)
OTHER = Keyring(bytes(range(1, 33)))


# --- keyring ---------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    MASTER.hex(),
    MASTER.hex().upper(),
    base64.b64encode(MASTER).decode(),
    base64.urlsafe_b64encode(MASTER).decode(),
    base64.urlsafe_b64encode(MASTER).decode().rstrip("="),
    "  " + MASTER.hex() + "\n",
])
def test_from_text_accepts_hex_and_base64(text: str) -> None:
    assert Keyring.from_text(text).alias("telegram", "1001") == KEYRING.alias("telegram", "1001")


@pytest.mark.parametrize("text", [
    "",
    "00" * 31,
    base64.b64encode(bytes(31)).decode(),
    "not a key at all, just words!!",
    "0123456789abcdef 0123456789abcdef 0123456789abcdef 0123456789abcdef",
])
def test_from_text_rejects_short_or_malformed(text: str) -> None:
    with pytest.raises(ValueError, match="at least 32") as caught:
        Keyring.from_text(text)
    if text:
        assert text not in str(caught.value)


def test_short_master_rejected() -> None:
    with pytest.raises(ValueError):
        Keyring(bytes(31))


def test_repr_hides_the_secret() -> None:
    assert MASTER.hex() not in repr(KEYRING)
    assert "secret" in repr(KEYRING)


# --- aliases ---------------------------------------------------------------------------------

def test_alias_is_stable_and_urlsafe() -> None:
    first = KEYRING.alias("telegram", "1001")
    assert first == KEYRING.alias("telegram", "1001")
    assert first == Keyring(MASTER).alias("telegram", "1001")
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", first)
    assert "1001" not in first


def test_alias_separates_channels_users_and_keys() -> None:
    aliases = {
        KEYRING.alias("telegram", "1001"),
        KEYRING.alias("zalo", "1001"),
        KEYRING.alias("telegram", "1002"),
        OTHER.alias("telegram", "1001"),
        KEYRING.alias("telegram1", "001"),  # same concatenation, different split
    }
    assert len(aliases) == 5


# --- sealing ---------------------------------------------------------------------------------

@pytest.mark.parametrize("purpose", ["content", "handle"])
def test_seal_round_trip(purpose: Purpose) -> None:
    token = KEYRING.seal(b"synthetic report text", purpose=purpose, associated=b"K7F3-9QMX-T2M4")
    assert b"synthetic" not in token
    assert token[0] == 1
    assert KEYRING.open(token, purpose=purpose,
                        associated=b"K7F3-9QMX-T2M4") == b"synthetic report text"


def test_values_sealed_at_rest_open_in_base64_and_in_the_older_hex() -> None:
    stored = seal_at_rest(KEYRING, "synthetic chat 42")
    older = SEALED + KEYRING.seal_text("synthetic chat 42", purpose="handle").hex()
    assert stored.startswith(SEALED) and len(stored) < len(older)
    assert open_at_rest(KEYRING, stored) == open_at_rest(KEYRING, older) == "synthetic chat 42"
    assert open_at_rest(KEYRING, "plain") == "plain"
    with pytest.raises(PrivacyError):
        open_at_rest(OTHER, stored)


def test_seal_uses_a_fresh_nonce_each_time() -> None:
    assert KEYRING.seal(b"same", purpose="content") != KEYRING.seal(b"same", purpose="content")


def test_every_flipped_byte_is_detected() -> None:
    token = KEYRING.seal(b"payload", purpose="content", associated=b"ticket")
    for index in range(len(token)):
        tampered = bytearray(token)
        tampered[index] ^= 0x01
        with pytest.raises(PrivacyError):
            KEYRING.open(bytes(tampered), purpose="content", associated=b"ticket")


def test_truncated_token_is_rejected() -> None:
    token = KEYRING.seal(b"payload", purpose="content")
    for cut in (0, 1, 13, len(token) - 1):
        with pytest.raises(PrivacyError):
            KEYRING.open(token[:cut], purpose="content")


def test_wrong_associated_data_is_rejected() -> None:
    token = KEYRING.seal(b"payload", purpose="content", associated=b"AAAA-BBBB-CCCC")
    with pytest.raises(PrivacyError):
        KEYRING.open(token, purpose="content", associated=b"AAAA-BBBB-CCCD")
    with pytest.raises(PrivacyError):
        KEYRING.open(token, purpose="content")


def test_wrong_purpose_and_wrong_key_are_rejected() -> None:
    token = KEYRING.seal(b"payload", purpose="content")
    with pytest.raises(PrivacyError):
        KEYRING.open(token, purpose="handle")
    with pytest.raises(PrivacyError):
        OTHER.open(token, purpose="content")


def test_seal_text_round_trip() -> None:
    text = "Nhà số 12, ngõ giả định, phường thử nghiệm"
    token = KEYRING.seal_text(text, purpose="handle", associated=b"t")
    assert KEYRING.open_text(token, purpose="handle", associated=b"t") == text


def test_open_text_refuses_non_text() -> None:
    token = KEYRING.seal(b"\xff\xfe", purpose="handle")
    with pytest.raises(PrivacyError):
        KEYRING.open_text(token, purpose="handle")


# --- signed callback data --------------------------------------------------------------------

def test_sign_verify_round_trip_fits_telegram() -> None:
    payload = "r:ack:" + new_ticket_code()
    signed = KEYRING.sign(payload)
    assert len(signed.encode()) <= CALLBACK_LIMIT == 64
    assert KEYRING.verify(signed) == payload


def test_payload_may_contain_the_separator() -> None:
    assert KEYRING.verify(KEYRING.sign("a.b.c")) == "a.b.c"


def test_tampered_signatures_are_refused() -> None:
    signed = KEYRING.sign("r:ack:AAAA-BBBB-CCCC")
    payload, _, tag = signed.rpartition(".")
    flipped = tag[:-1] + ("A" if tag[-1] != "A" else "B")
    assert KEYRING.verify(payload.replace("AAAA", "AAAB") + "." + tag) is None
    assert KEYRING.verify(payload + "." + flipped) is None
    assert KEYRING.verify(payload) is None
    assert KEYRING.verify(payload + ".") is None
    assert KEYRING.verify(payload + ".é") is None
    assert OTHER.verify(signed) is None


def test_sign_refuses_what_telegram_would_truncate() -> None:
    with pytest.raises(ValueError, match="64"):
        KEYRING.sign("x" * 60)


# --- ticket codes ----------------------------------------------------------------------------

def test_ticket_alphabet_and_entropy() -> None:
    assert len(set(TICKET_ALPHABET)) == len(TICKET_ALPHABET) == 32
    assert not set("ILOU") & set(TICKET_ALPHABET)
    bits = TICKET_SYMBOLS * math.log2(len(TICKET_ALPHABET))
    assert bits == TICKET_BITS >= 50


def test_ticket_codes_are_unique_and_well_formed() -> None:
    codes = [new_ticket_code() for _ in range(10_000)]
    assert len(set(codes)) == len(codes)
    group = f"[{TICKET_ALPHABET}]{{4}}"
    pattern = re.compile(f"{group}-{group}-{group}")
    assert all(pattern.fullmatch(code) for code in codes)
    assert all(normalize_ticket_code(code) == code for code in codes)


def test_ticket_codes_use_the_whole_alphabet_at_every_position() -> None:
    codes = [new_ticket_code().replace("-", "") for _ in range(2_000)]
    for position in range(TICKET_SYMBOLS):
        assert {code[position] for code in codes} == set(TICKET_ALPHABET)


@pytest.mark.parametrize(("typed", "expected"), [
    ("K7F3-9QMX-T2M4", "K7F3-9QMX-T2M4"),
    ("k7f3-9qmx-t2m4", "K7F3-9QMX-T2M4"),
    ("K7F39QMXT2M4", "K7F3-9QMX-T2M4"),
    (" k7f3 9qmx t2m4 ", "K7F3-9QMX-T2M4"),
    ("K7F3–9QMX—T2M4", "K7F3-9QMX-T2M4"),  # dashes a phone keyboard substitutes
    ("ＫＹＦ３-９ＱＭＸ-Ｔ２Ｍ４", "KYF3-9QMX-T2M4"),  # full-width input
    ("OOOO-IIII-LLLL", "0000-1111-1111"),
    ("o0o0-i1l1-ilil", "0000-1111-1111"),
])
def test_normalize_ticket_code(typed: str, expected: str) -> None:
    assert normalize_ticket_code(typed) == expected


@pytest.mark.parametrize("typed", [
    "", "K7F3-9QMX-T2M", "K7F3-9QMX-T2M4-A", "K7F3-9QMX-T2MU", "K7F3-9QMX-T2M#", "ticket K7F3",
    "K7F3/9QMX/T2M4",
])
def test_normalize_rejects_malformed(typed: str) -> None:
    assert normalize_ticket_code(typed) is None


@given(st.text(alphabet=TICKET_ALPHABET, min_size=TICKET_SYMBOLS, max_size=TICKET_SYMBOLS))
def test_normalize_round_trip(symbols: str) -> None:
    canonical = normalize_ticket_code(symbols)
    assert canonical is not None
    assert canonical.replace("-", "") == symbols
    assert normalize_ticket_code(canonical.lower()) == canonical


# --- pictures: helpers -----------------------------------------------------------------------

COMMENT = b"synthetic-comment-do-not-leak"
XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
       b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
       b'xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:CreatorTool="SyntheticTool"/>'
       b"</rdf:RDF></x:xmpmeta>")


def _two_tone(size: tuple[int, int]) -> Image.Image:
    """Left half red, right half blue, so a rotation shows in the pixels."""
    image = Image.new("RGB", size, (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, size[0] // 2, size[1]))
    return image


def _encoded(image: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **params)
    return out.getvalue()


def _tracked_jpeg() -> bytes:
    """A JPEG carrying everything a phone camera leaks: GPS, camera, time, XMP, ICC, comment."""
    exif = Image.Exif()
    exif[0x010F] = "SyntheticCam"  # Make
    exif[0x0110] = "SyntheticCam Model 1"  # Model
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to display
    exif.get_ifd(0x8769)[0x9003] = "2026:03:01 21:15:00"  # DateTimeOriginal
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"  # GPSLatitudeRef
    gps[2] = (21.0, 1.0, 42.0)  # GPSLatitude
    gps[3] = "E"  # GPSLongitudeRef
    gps[4] = (105.0, 51.0, 3.0)  # GPSLongitude
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return _encoded(_two_tone((80, 40)), "JPEG", exif=exif.tobytes(), icc_profile=icc,
                    comment=COMMENT, xmp=XMP, quality=95)


def _markers(jpeg: bytes) -> list[int]:
    """The JPEG segment markers up to the start of the scan."""
    assert jpeg[:2] == b"\xff\xd8"
    found, index = [], 2
    while True:
        marker = jpeg[index + 1]
        found.append(marker)
        if marker == 0xDA:  # start of scan: entropy-coded data follows
            return found
        (length,) = struct.unpack(">H", jpeg[index + 2:index + 4])
        index += 2 + length


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG claiming huge dimensions with a tiny body: the shape of a decompression bomb."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body)))
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


# --- pictures: what goes in does not come out ------------------------------------------------

def test_tracked_jpeg_really_carries_the_metadata() -> None:
    raw = _tracked_jpeg()
    with Image.open(io.BytesIO(raw)) as image:
        exif = image.getexif()
        assert exif[0x010F] == "SyntheticCam"
        assert exif.get_ifd(0x8825)[2] == (21.0, 1.0, 42.0)
        assert exif.get_ifd(0x8769)[0x9003] == "2026:03:01 21:15:00"
        assert image.info["icc_profile"]
        assert image.info["comment"] == COMMENT
    for needle in (b"SyntheticCam", b"Exif", b"http://ns.adobe.com/xap", COMMENT, b"ICC_PROFILE"):
        assert needle in raw


def test_sanitized_jpeg_keeps_nothing_but_pixels() -> None:
    clean = sanitize_image(_tracked_jpeg())
    for needle in (b"SyntheticCam", b"SyntheticTool", b"Exif", b"http://ns.adobe.com/xap",
                   COMMENT, b"ICC_PROFILE", b"2026:03:01"):
        assert needle not in clean
    # only SOI, the JFIF header, tables and frame: no APP1 (EXIF/XMP), APP2 (ICC), COM
    assert not set(_markers(clean)) & ({0xFE} | set(range(0xE1, 0xF0)))
    with Image.open(io.BytesIO(clean)) as image:
        assert image.format == "JPEG"
        assert image.mode == "RGB"
        assert len(image.getexif()) == 0
        assert not image.getexif().get_ifd(0x8825)
        assert not {"exif", "icc_profile", "comment", "xmp"} & set(image.info)


def test_orientation_is_applied() -> None:
    clean = sanitize_image(_tracked_jpeg())
    with Image.open(io.BytesIO(clean)) as image:
        assert image.size == (40, 80)  # stored 80x40, displayed turned a quarter clockwise
        top, bottom = image.getpixel((20, 10)), image.getpixel((20, 70))
    assert isinstance(top, tuple) and isinstance(bottom, tuple)
    assert top[0] > 200 and top[2] < 60  # the stored left (red) half is now on top
    assert bottom[2] > 200 and bottom[0] < 60


def test_png_text_and_exif_chunks_are_dropped() -> None:
    from PIL import PngImagePlugin

    text = PngImagePlugin.PngInfo()
    text.add_text("Author", "SyntheticCam owner")
    exif = Image.Exif()
    exif[0x010F] = "SyntheticCam"
    raw = _encoded(_two_tone((30, 20)), "PNG", pnginfo=text, exif=exif.tobytes())
    assert b"SyntheticCam" in raw
    clean = sanitize_image(raw)
    assert b"SyntheticCam" not in clean
    with Image.open(io.BytesIO(clean)) as image:
        assert (image.format, image.size) == ("JPEG", (30, 20))


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "GIF"])
def test_other_formats_become_jpeg(fmt: str) -> None:
    clean = sanitize_image(_encoded(_two_tone((64, 48)), fmt))
    with Image.open(io.BytesIO(clean)) as image:
        assert (image.format, image.mode, image.size) == ("JPEG", "RGB", (64, 48))


def test_animated_gif_keeps_its_first_frame() -> None:
    frames = [Image.new("RGB", (16, 16), colour) for colour in ((255, 0, 0), (0, 255, 0))]
    out = io.BytesIO()
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:], duration=100)
    with Image.open(io.BytesIO(sanitize_image(out.getvalue()))) as image:
        red = image.getpixel((8, 8))
    assert isinstance(red, tuple) and red[0] > 200 and red[1] < 60


def test_transparency_becomes_white() -> None:
    clean = sanitize_image(_encoded(Image.new("RGBA", (10, 10), (0, 0, 0, 0)), "PNG"))
    with Image.open(io.BytesIO(clean)) as image:
        assert image.getpixel((5, 5)) == (255, 255, 255)


def test_sixteen_bit_grey_is_accepted() -> None:
    grey = Image.new("I;16", (12, 12), 40_000)
    with Image.open(io.BytesIO(sanitize_image(_encoded(grey, "PNG")))) as image:
        assert (image.mode, image.size) == ("RGB", (12, 12))


@pytest.mark.parametrize(("size", "expected"), [
    ((400, 100), (200, 50)),
    ((100, 400), (50, 200)),
    ((150, 120), (150, 120)),
])
def test_downscaled_to_max_side(size: tuple[int, int], expected: tuple[int, int]) -> None:
    for fmt in ("PNG", "JPEG"):
        clean = sanitize_image(_encoded(_two_tone(size), fmt), max_side=200)
        with Image.open(io.BytesIO(clean)) as image:
            assert image.size == expected


def test_large_jpeg_is_decoded_small() -> None:
    raw = _encoded(_two_tone((4000, 3000)), "JPEG")
    with Image.open(io.BytesIO(sanitize_image(raw, max_side=500))) as image:
        assert image.size == (500, 375)


# --- pictures: refused -----------------------------------------------------------------------

def _zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("photo.jpg", b"not really a photo")
    return out.getvalue()


@pytest.mark.parametrize("data", [
    b"",
    b"just some synthetic text, not a picture\n" * 10,
    _zip(),
    _tracked_jpeg()[:400],
    _encoded(_two_tone((50, 50)), "PNG")[:-30],
    _encoded(_two_tone((8, 8)), "BMP"),  # a picture, but not a format we accept
    b"\xff\xd8\xff\xe0" + b"\x00" * 200,
], ids=["empty", "text", "zip", "truncated-jpeg", "truncated-png", "bmp", "jpeg-magic-only"])
def test_non_images_are_rejected(data: bytes) -> None:
    with pytest.raises(ImageRejected) as caught:
        sanitize_image(data)
    assert caught.value.reason == "not_image"
    assert isinstance(caught.value, PrivacyError)


def test_too_many_bytes_is_rejected_before_decoding() -> None:
    with pytest.raises(ImageRejected) as caught:
        sanitize_image(b"\x00" * 101, max_bytes=100)
    assert caught.value.reason == "too_large"


@pytest.mark.parametrize(("width", "height"), [(9_000, 9_000), (40_000, 40_000), (1, 60_000_000)])
def test_oversized_dimensions_are_rejected(width: int, height: int) -> None:
    with pytest.raises(ImageRejected) as caught:
        sanitize_image(_png_header_only(width, height))
    assert caught.value.reason == "too_many_pixels"


def test_pixel_limit_is_adjustable() -> None:
    raw = _encoded(_two_tone((100, 100)), "PNG")
    with pytest.raises(ImageRejected) as caught:
        sanitize_image(raw, max_pixels=9_999)
    assert caught.value.reason == "too_many_pixels"
    assert sanitize_image(raw, max_pixels=10_000)


def _webp_bomb() -> bytes:
    """A few kilobytes declaring 7000 x 7000: under the pixel limit, ~150 MB once decoded."""
    out = io.BytesIO()
    Image.new("RGB", (7_000, 7_000), (30, 90, 160)).save(out, "WEBP", lossless=True)
    return out.getvalue()


def test_a_picture_too_big_to_decode_in_memory_is_rejected_before_decoding() -> None:
    bomb = _webp_bomb()
    assert len(bomb) < 100_000
    with pytest.raises(ImageRejected) as caught:
        sanitize_image(bomb)
    assert caught.value.reason == "too_many_pixels"
    # the limit counts bands: the same pixels in one band fit
    grey = _encoded(Image.new("L", (2_000, 2_000), 90), "PNG")
    assert sanitize_image(grey, max_decoded_bytes=2_000 * 2_000 * 3)
    with pytest.raises(ImageRejected):
        sanitize_image(grey, max_decoded_bytes=2_000 * 2_000 * 3 - 1)


_SIX_AT_ONCE = """
import io, resource, sys
from concurrent.futures import ThreadPoolExecutor
from PIL import Image
from bot.security import privacy

pictures = [open(path, "rb").read() for path in sys.argv[1:]]
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
def sanitize(data):
    try:
        return len(privacy.sanitize_image(data))
    except privacy.ImageRejected as exc:
        return exc.reason
with ThreadPoolExecutor(len(pictures)) as pool:
    results = list(pool.map(sanitize, pictures))
grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(grown // 1024, *results)
"""
# Measured on Linux (Pillow 13): six 7000 x 7000 WEBP bombs at once add under 5 MB to the
# peak; six PNGs of the largest accepted size (4000 x 4000 RGB) at once add ~330 MB, two
# decodes' worth. Decoded on six threads, 4800 x 4800 ones added ~1.3 GB.
SIX_BOMBS_CEILING_MB = 50
SIX_LARGEST_CEILING_MB = 600


@pytest.mark.parametrize(("kind", "ceiling"), [("bomb", SIX_BOMBS_CEILING_MB),
                                               ("largest", SIX_LARGEST_CEILING_MB)])
def test_six_decodes_at_once_stay_under_a_memory_ceiling(tmp_path: Path, kind: str,
                                                         ceiling: int) -> None:
    if kind == "bomb":
        data = _webp_bomb()
    else:
        data = _encoded(Image.new("RGB", (4_000, 4_000), (30, 90, 160)), "PNG")
    path = tmp_path / kind
    path.write_bytes(data)
    result = subprocess.run([sys.executable, "-c", _SIX_AT_ONCE, *[str(path)] * 6],
                            capture_output=True, text=True, timeout=120, check=True)
    grown, *results = result.stdout.split()
    expected = "too_many_pixels" if kind == "bomb" else None
    assert all(outcome == expected for outcome in results) if expected else all(
        outcome.isdigit() for outcome in results), results
    assert int(grown) < ceiling, f"{grown} MB for six at once"
