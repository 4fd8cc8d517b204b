"""Synthetic photos for tests: a JPEG carrying every kind of metadata a phone would add."""

from __future__ import annotations

import io

from PIL import ExifTags, Image

CAMERA = "SyntheticCam"
COMMENT = b"synthetic-comment-7731"


def jpeg_with_metadata(size: tuple[int, int] = (64, 48)) -> bytes:
    """A small JPEG with camera make/model, capture time, GPS position and a comment."""
    image = Image.new("RGB", size, (200, 40, 40))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = CAMERA
    exif[ExifTags.Base.Model] = CAMERA + " Pro"
    exif[ExifTags.Base.DateTime] = "2026:11:20 21:13:07"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (10.0, 46.0, 33.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (106.0, 41.0, 55.0)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif, comment=COMMENT)
    return buffer.getvalue()
