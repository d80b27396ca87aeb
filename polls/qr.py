"""QR codes of a poll's public link, rendered once per link and cached."""

import io
from functools import lru_cache

import segno


@lru_cache(maxsize=512)
def qr_code_svg(url: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(url, error="m").save(
        buffer, kind="svg", scale=6, border=2, dark="#1e293b", light="#ffffff", xmldecl=False
    )
    return buffer.getvalue()
