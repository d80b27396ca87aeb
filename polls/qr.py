"""QR codes of a poll's public link, rendered once per link and cached."""

import io
from functools import lru_cache

import segno

QR_DARK = "#1e293b"


@lru_cache(maxsize=512)
def qr_code_svg(url: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(url, error="m").save(
        buffer, kind="svg", scale=6, border=2, dark=QR_DARK, light="#ffffff", xmldecl=False
    )
    return buffer.getvalue()


@lru_cache(maxsize=512)
def qr_code_png(url: str) -> bytes:
    """A PNG big enough for a poster (about 1,000 px for a typical link), with the quiet
    zone of four modules scanners expect."""
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="png", scale=25, border=4, dark=QR_DARK)
    return buffer.getvalue()
