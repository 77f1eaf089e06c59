"""Files the tests feed the tools: a PNG written with zlib alone, and the built C programs."""

import zlib

import pytest

from bmxnet import deploy


def write_png(path, pixels):
    """An 8-bit PNG of `pixels` ((h, w) gray or (h, w, 3) RGB, uint8) written with zlib alone."""
    h, w = pixels.shape[:2]
    color = 2 if pixels.ndim == 3 else 0
    raw = b"".join(b"\0" + pixels[y].tobytes() for y in range(h))

    def chunk(kind, data):
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")
    ihdr = w.to_bytes(4, "big") + h.to_bytes(4, "big") + bytes([8, color, 0, 0, 0])
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
                     + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def built_program(name):
    """Path of the example program `name` (deploy.find_exe); the test skips, saying why, when it
    is not built."""
    try:
        return deploy.find_exe(name)
    except FileNotFoundError as e:
        pytest.skip(str(e))
