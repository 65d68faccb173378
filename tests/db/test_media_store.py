"""MediaStore: content-addressed keys, atomic writes, no way out of the root."""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import tempfile
import threading
from itertools import count
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from db.media_store import MediaStore

PHOTO = b"\xff\xd8\xff\xe0 pretend this is a JPEG of keripik tempe"


@pytest.fixture
def store(tmp_path: Path) -> MediaStore:
    return MediaStore(tmp_path / "media")


def key_of(data: bytes, extension: str) -> str:
    digest = hashlib.sha256(data).hexdigest()
    return f"{digest[:2]}/{digest[2:4]}/{digest}.{extension}"


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def with_shared_prefix(chars: int) -> tuple[bytes, bytes]:
    """Two payloads whose sha256 hex digests start alike, so they share directories."""
    seen: dict[str, bytes] = {}
    for i in count():
        data = f"photo {i}".encode()
        prefix = hashlib.sha256(data).hexdigest()[:chars]
        if prefix in seen:
            return seen[prefix], data
        seen[prefix] = data
    raise AssertionError("unreachable")


def test_put_then_read_round_trip(store: MediaStore) -> None:
    digest = hashlib.sha256(PHOTO).hexdigest()
    key = store.put(PHOTO, extension="jpg")
    assert key == key_of(PHOTO, "jpg")
    assert store.read(key) == PHOTO
    assert store.exists(key)
    assert store.path(key) == store.root / digest[:2] / digest[2:4] / f"{digest}.jpg"
    assert files_under(store.root) == [key]


def test_put_creates_the_root_when_missing(tmp_path: Path) -> None:
    store = MediaStore(tmp_path / "not" / "yet" / "there")
    key = store.put(PHOTO, extension="png")
    assert store.read(key) == PHOTO


def test_extension_is_normalised_and_checked(store: MediaStore) -> None:
    assert store.put(PHOTO, extension=".JPG").endswith(".jpg")
    for bad in ("", "../jpg", "j/pg", "jp g", "verylongext", "jpg\n"):
        with pytest.raises(ValueError, match="extension"):
            store.put(PHOTO, extension=bad)


def test_put_is_idempotent(store: MediaStore) -> None:
    key = store.put(PHOTO, extension="jpg")
    before = os.stat(store.path(key))
    assert store.put(PHOTO, extension="jpg") == key
    after = os.stat(store.path(key))
    # Not rewritten: same inode, same modification time.
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert list(store.keys()) == [key]


def test_different_bytes_get_different_keys(store: MediaStore) -> None:
    first, second = store.put(b"one", extension="jpg"), store.put(b"two", extension="jpg")
    assert first != second
    assert (store.read(first), store.read(second)) == (b"one", b"two")


def test_empty_payload_is_storable(store: MediaStore) -> None:
    key = store.put(b"", extension="jpg")
    assert store.read(key) == b""


@pytest.mark.parametrize(
    "key",
    [
        "../secret.jpg",
        "../../etc/passwd",
        "/etc/passwd",
        "ab/cd/../../../etc/passwd",
        "ab/cd/" + "0" * 64 + ".jpg",  # well-formed but the directories don't match the hash
        "",
        ".",
        "..",
        "ab/cd",
        "ab\\cd\\" + "abcd" * 16 + ".jpg",
        "AB/CD/" + "ABCD" * 16 + ".jpg",
        "ab/cd/" + "abcd" * 16 + ".jpg\n",
        "/ab/cd/" + "abcd" * 16 + ".jpg",
        "ab/cd/" + "abcd" * 16 + ".jpg/..",
    ],
)
def test_keys_that_could_escape_the_root_are_rejected(store: MediaStore, key: str) -> None:
    for method in (store.path, store.read, store.exists, store.delete):
        with pytest.raises(ValueError, match="not a media key"):
            method(key)


@given(st.text(max_size=120))
def test_any_accepted_key_stays_inside_the_root(key: str) -> None:
    root = Path(tempfile.gettempdir()) / "kurasi-media-prop"
    store = MediaStore(root)
    try:
        path = store.path(key)
    except ValueError:
        return
    assert path.resolve().is_relative_to(root.resolve())
    assert path.resolve() != root.resolve()


def test_read_of_missing_key_raises_file_not_found(store: MediaStore) -> None:
    key = MediaStore(store.root.parent / "elsewhere").put(PHOTO, extension="jpg")
    assert not store.exists(key)
    with pytest.raises(FileNotFoundError):
        store.read(key)


def test_delete_removes_file_and_empty_directories(store: MediaStore) -> None:
    key = store.put(PHOTO, extension="jpg")
    assert store.delete(key) is True
    assert not store.exists(key)
    assert store.root.is_dir()  # the root itself stays
    assert list(store.root.iterdir()) == []
    assert store.delete(key) is False  # missing is fine


def test_delete_keeps_directories_still_in_use(store: MediaStore) -> None:
    same_ab = with_shared_prefix(2)
    same_abcd = with_shared_prefix(4)
    keys = [store.put(data, extension="jpg") for data in (*same_ab, *same_abcd)]

    assert store.delete(keys[0])
    assert store.path(keys[1]).parent.parent.is_dir()
    assert store.read(keys[1]) == same_ab[1]

    assert store.delete(keys[2])
    assert store.read(keys[3]) == same_abcd[1]
    assert store.delete(keys[3])
    assert not store.path(keys[3]).parent.exists()
    assert sorted(store.keys()) == [keys[1]]


def test_same_bytes_with_another_extension_is_another_key(store: MediaStore) -> None:
    jpg, png = store.put(PHOTO, extension="jpg"), store.put(PHOTO, extension="png")
    assert jpg != png
    assert store.delete(jpg)
    assert store.read(png) == PHOTO  # the shared directory was not removed


def test_keys_lists_stored_files_only(store: MediaStore) -> None:
    assert list(MediaStore(store.root / "missing").keys()) == []
    stored = {store.put(f"photo {i}".encode(), extension="webp") for i in range(20)}
    some = next(iter(stored))
    parent = store.path(some).parent
    (parent / ".tmp-leftover").write_bytes(b"half a photo")
    (parent / "notes.txt").write_text("stray")
    (store.root / "README").write_text("stray")
    assert set(store.keys()) == stored


def test_put_leaves_no_temp_files_and_syncs(
    store: MediaStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[int] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    keys = [store.put(f"photo {i}".encode(), extension="jpg") for i in range(5)]
    assert files_under(store.root) == sorted(keys)
    assert len(synced) >= 5  # the file (and its directory) before the rename counts


def test_failed_write_leaves_nothing_behind(
    store: MediaStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(OSError, match="No space"):
        store.put(PHOTO, extension="jpg")
    monkeypatch.undo()
    assert files_under(store.root) == []
    assert list(store.keys()) == []
    # And the store still works afterwards.
    assert store.read(store.put(PHOTO, extension="jpg")) == PHOTO


def test_readers_never_see_a_partial_file(store: MediaStore) -> None:
    # The final name appears only via rename, so it is either absent or complete.
    big = os.urandom(4 * 1024 * 1024)
    key = key_of(big, "jpg")
    seen: list[int] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            with contextlib.suppress(FileNotFoundError):
                seen.append(len(store.read(key)))

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        assert store.put(big, extension="jpg") == key
    finally:
        done.set()
        watcher.join()
    assert all(n == len(big) for n in seen)


def test_concurrent_puts_of_the_same_bytes(store: MediaStore) -> None:
    results: list[str] = []
    threads = [
        threading.Thread(target=lambda: results.append(store.put(PHOTO, extension="jpg")))
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 1
    assert files_under(store.root) == [results[0]]


def test_put_survives_a_delete_racing_for_the_directory(
    store: MediaStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # delete() of a neighbour may remove the directory between put's mkdir and its temp file.
    real_mkstemp = tempfile.mkstemp
    calls = count()

    def mkstemp_after_race(*, prefix: str, dir: Path) -> tuple[int, str]:
        if next(calls) == 0:
            os.rmdir(dir)
        return real_mkstemp(prefix=prefix, dir=dir)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp_after_race)
    key = store.put(PHOTO, extension="jpg")
    assert store.read(key) == PHOTO


def test_stored_files_are_not_world_writable(store: MediaStore) -> None:
    mode = store.path(store.put(PHOTO, extension="jpg")).stat().st_mode
    assert not mode & (stat.S_IWGRP | stat.S_IWOTH)
