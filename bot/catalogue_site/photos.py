"""Catalogue photo sizes, made once per photo (by its sha256) and kept on disk."""

from __future__ import annotations

import io
import os
from pathlib import Path

from PIL import Image, ImageOps

from db.media_store import MediaStore

SIZES = {"thumb": 480, "full": 1600}
MAX_SIDE = SIZES["full"]


def resize(data: bytes, max_side: int) -> bytes:
    """A JPEG no larger than `max_side` on its longer side, turned upright."""
    with Image.open(io.BytesIO(data)) as original:
        original.draft("RGB", (max_side, max_side))  # JPEG: decode at a reduced scale
        img = ImageOps.exif_transpose(original).convert("RGB")
        img.thumbnail((max_side, max_side))
        out = io.BytesIO()
        img.save(out, "JPEG", quality=85, optimize=True, progressive=True)
        return out.getvalue()


def sized(thumbs: Path, sha256: str, size: str) -> Path:
    return thumbs / f"{sha256}-{SIZES[size]}.jpg"


def make(store: MediaStore, store_key: str, path: Path, side: int) -> None:
    """Write the size atomically (a reader never sees half a file). FileNotFoundError when
    the original is gone."""
    data = resize(store.read(store_key), side)
    write_atomic(path, data)


def write_atomic(path: Path, data: bytes) -> None:
    """Written beside, then renamed: a reader never sees half a file (the process id keeps
    two workers making the same size apart)."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.part")
    try:
        fh = tmp.open("wb")
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        fh = tmp.open("wb")
    with fh:
        fh.write(data)
    os.replace(tmp, path)
