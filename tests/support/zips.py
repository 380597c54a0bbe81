"""Forge ZIP headers the way hostile archives do (zipfile itself never writes a lie)."""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path


def patch_headers(path: Path, member: str, *, local_offset: int, central_offset: int, fmt: str,
                  value: Callable[[int], int]) -> None:
    """Rewrite one field of an entry's local and central headers."""
    data = bytearray(path.read_bytes())
    name = member.encode()
    for magic, name_at, field_at in ((b"PK\x03\x04", 26, local_offset), (b"PK\x01\x02", 28, central_offset)):
        start = 30 if magic == b"PK\x03\x04" else 46
        pos = data.find(magic)
        while pos != -1:
            name_len = struct.unpack_from("<H", data, pos + name_at)[0]
            if data[pos + start : pos + start + name_len] == name:
                old = struct.unpack_from(fmt, data, pos + field_at)[0]
                struct.pack_into(fmt, data, pos + field_at, value(old))
            pos = data.find(magic, pos + 4)
    path.write_bytes(bytes(data))


def lie_about_size(path: Path, member: str, fake_size: int) -> None:
    """Make an entry declare `fake_size` uncompressed bytes, whatever it really inflates to."""
    patch_headers(path, member, local_offset=22, central_offset=24, fmt="<I", value=lambda _: fake_size)
