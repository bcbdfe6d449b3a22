"""zstd compression of closed segments, crash-safe: ``x.kgwlog`` -> ``x.kgwlog.zst.tmp`` ->
fsync -> rename to ``x.kgwlog.zst`` -> fsync the directory -> unlink ``x.kgwlog``.

At any crash point one complete copy exists: before the rename only the plain file counts
(readers ignore ``.tmp``), after it the compressed one wins (:func:`segment.list_segments`).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import zstandard

from .reader import CHUNK

TMP_SUFFIX = ".tmp"


def fsync_dir(directory: Path) -> None:
    """Make a create, rename or unlink in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def compress_segment(path: Path, level: int = 3, stop: threading.Event | None = None) -> Path | None:
    """Compress a closed segment in place; the new path, or None if ``stop`` was set first
    (the plain file is then left as it was). ``level``: zstd level (1-22)."""
    target = path.with_name(path.name + ".zst")
    tmp = path.with_name(target.name + TMP_SUFFIX)
    st = path.stat()
    cctx = zstandard.ZstdCompressor(level=level, write_content_size=True)
    done = False
    try:
        with path.open("rb") as src, tmp.open("wb") as dst:
            os.chmod(tmp, st.st_mode & 0o777)
            cobj = cctx.compressobj(size=st.st_size)
            while True:
                if stop is not None and stop.is_set():
                    return None
                chunk = src.read(CHUNK)
                if not chunk:
                    break
                dst.write(cobj.compress(chunk))
            dst.write(cobj.flush())
            dst.flush()
            os.fsync(dst.fileno())
        os.replace(tmp, target)
        done = True
    finally:
        if not done:
            tmp.unlink(missing_ok=True)
    fsync_dir(path.parent)
    path.unlink()
    fsync_dir(path.parent)
    return target


def remove_temporaries(directory: Path) -> list[Path]:
    """Delete leftovers of interrupted compressions; the paths removed."""
    gone = [p for p in directory.glob(f"*{TMP_SUFFIX}") if p.is_file()]
    for p in gone:
        p.unlink()
    return gone
