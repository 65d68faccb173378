"""Photo bytes on the filesystem, addressed by content: ``ab/cd/<sha256>.<ext>`` under one root.

Synchronous on purpose (plain file I/O); async callers wrap calls in ``asyncio.to_thread``.
The database keeps only the key, so equal uploads share one file and a key never changes meaning.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["MediaStore"]

# The only shape a key can have, so no key can name anything outside the root.
_KEY = re.compile(r"([0-9a-f]{2})/([0-9a-f]{2})/([0-9a-f]{64})\.([a-z0-9]{1,8})")
_EXTENSION = re.compile(r"[a-z0-9]{1,8}")
_TEMP_PREFIX = ".tmp-"
# put() can lose a race with delete() removing the (empty) directory it just created.
_PUT_ATTEMPTS = 3


# Copies made from a stored photo live beside the originals, named by its digest: the
# catalogue's thumbnails, thumbs/<sha256>-480.jpg and -1600.jpg (bot/catalogue.py).
DERIVED_DIR = "thumbs"


class MediaStore:
    def __init__(self, root: Path) -> None:  # resized copies: root / DERIVED_DIR
        self.root = Path(root)

    @property
    def derived_dir(self) -> Path:
        return self.root / DERIVED_DIR

    def derived(self, key: str) -> list[Path]:
        """Every copy made from the key's photo (its thumbnails), as they are on disk now."""
        digest = _KEY.fullmatch(key)
        if digest is None:
            raise ValueError(f"not a media key: {key!r}")
        return sorted(self.derived_dir.glob(f"{digest[3]}-*"))

    def put(self, data: bytes, *, extension: str) -> str:
        """Store the bytes (once) and return their key; storing the same bytes again is a no-op."""
        ext = extension.lower().removeprefix(".")
        if not _EXTENSION.fullmatch(ext):
            raise ValueError(f"bad extension: {extension!r}")
        digest = hashlib.sha256(data).hexdigest()
        key = f"{digest[:2]}/{digest[2:4]}/{digest}.{ext}"
        target = self.root / key
        for _ in range(_PUT_ATTEMPTS - 1):
            try:
                return self._put_once(target, key, data)
            except FileNotFoundError:
                continue
        return self._put_once(target, key, data)

    def path(self, key: str) -> Path:
        """Where the key's file lives; ValueError for anything that is not a key put() returns."""
        match = _KEY.fullmatch(key)
        if match is None or not match[3].startswith(match[1] + match[2]):
            raise ValueError(f"not a media key: {key!r}")
        return self.root / key

    def read(self, key: str) -> bytes:
        """The stored bytes; FileNotFoundError when the key is not stored."""
        return self.path(key).read_bytes()

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def delete(self, key: str) -> bool:
        """Remove the file, every copy made from it, and its directories once empty; False
        when the file was not there."""
        target = self.path(key)
        for copy in self.derived(key):
            with contextlib.suppress(FileNotFoundError):
                copy.unlink()
        try:
            target.unlink()
        except FileNotFoundError:
            return False
        for directory in (target.parent, target.parent.parent):
            try:
                directory.rmdir()
            except OSError:  # not empty (or already gone): leave it
                break
        return True

    def keys(self) -> Iterator[str]:
        """Every stored key, skipping temp files and strays; order is not defined."""
        for first in _entries(self.root):
            if not first.is_dir(follow_symlinks=False):
                continue
            for second in _entries(Path(first.path)):
                if not second.is_dir(follow_symlinks=False):
                    continue
                for entry in _entries(Path(second.path)):
                    key = f"{first.name}/{second.name}/{entry.name}"
                    if _KEY.fullmatch(key) and entry.is_file(follow_symlinks=False):
                        yield key

    def _put_once(self, target: Path, key: str, data: bytes) -> str:
        if not target.is_file():
            self._write_atomically(target, data)
        return key

    def _write_atomically(self, target: Path, data: bytes) -> None:
        # Readers see the whole file or none: write a temp file beside it, fsync, rename over.
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(prefix=_TEMP_PREFIX, dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as temp:
                temp.write(data)
                temp.flush()
                os.fsync(temp.fileno())
            os.replace(temp_name, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp_name)
            raise
        _fsync_directory(target.parent)


def _entries(directory: Path) -> list[os.DirEntry[str]]:
    # A directory may vanish mid-walk when a concurrent delete() empties it.
    try:
        with os.scandir(directory) as entries:
            return list(entries)
    except (FileNotFoundError, NotADirectoryError):
        return []


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself survive a power cut; best effort where directories can't be opened.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
