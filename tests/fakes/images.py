"""Synthetic photos for tests: a JPEG carrying every kind of metadata a phone would add."""

from __future__ import annotations

import io

from PIL import ExifTags, Image

CAMERA = "SyntheticCam"
COMMENT = b"synthetic-comment-7731"
SERIAL = "SN-4417-0093-2218"
LATITUDE = (10.0, 46.0, 33.25)
LONGITUDE = (106.0, 41.0, 55.75)


def jpeg_with_metadata(size: tuple[int, int] = (64, 48), artist: str = "") -> bytes:
    """A small JPEG with camera make/model and serial, capture time, GPS position, a comment
    and, when given, the photographer's name."""
    image = Image.new("RGB", size, (200, 40, 40))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = CAMERA
    exif[ExifTags.Base.Model] = CAMERA + " Pro"
    exif[ExifTags.Base.DateTime] = "2026:11:20 21:13:07"
    if artist:
        exif[ExifTags.Base.Artist] = artist
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.BodySerialNumber] = SERIAL
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = LATITUDE
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = LONGITUDE
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif, comment=COMMENT)
    return buffer.getvalue()
