"""Output files written whole or not at all: a temporary name in the same folder, renamed.

Every file the project writes for a user (``capacity recommend``'s CSV, reports, exports,
bundles, the service's own files) goes through :func:`atomic_write` (or its helpers): a
kill during the write leaves the previous file untouched (or no file), never an empty
file or a CSV truncated on a complete line that looks finished. The data is fsynced
before the rename and the folder after it, so the rename survives a crash too.
Lives in ``features`` (the lowest layer) so that training, serving and features share it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

TEMP_PREFIX = ".tmp-"
"""Prefix of the temporary names (``.tmp-<name>-<random>``): hidden, and easy to sweep."""


def _temp_beside(path: Path) -> Path:
    return path.with_name(f"{TEMP_PREFIX}{path.name}-{os.getpid()}-{secrets.token_hex(4)}")


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform opens a directory
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_write(
    path: str | os.PathLike[str],
    mode: str = "w",
    *,
    encoding: str | None = "utf-8",
    newline: str | None = None,
) -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; on success it replaces ``path`` in one rename.

    Parameters
    ----------
    path
        The file to (re)place. Its folder is created if missing.
    mode
        ``"w"`` (text) or ``"wb"`` (bytes).
    encoding, newline
        As for :func:`open` (text mode only).

    An exception inside the block removes the temporary file and leaves ``path`` as it was.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write mode must be 'w' or 'wb', received {mode!r}")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = _temp_beside(target)
    binary = mode == "wb"
    handle: IO[Any] = (
        open(temp, "wb")  # noqa: SIM115 - closed below, before the rename
        if binary
        else open(temp, "w", encoding=encoding, newline=newline)  # noqa: SIM115
    )
    try:
        yield handle
        handle.flush()
        os.fsync(handle.fileno())
        handle.close()
        os.replace(temp, target)
        _fsync_dir(target.parent)
    except BaseException:
        handle.close()
        with contextlib.suppress(OSError):
            temp.unlink()
        raise


def write_text(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> Path:
    """``Path.write_text``, atomically (see :func:`atomic_write`)."""
    with atomic_write(path, "w", encoding=encoding, newline="") as fh:
        fh.write(text)
    return Path(path)


def write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """``Path.write_bytes``, atomically."""
    with atomic_write(path, "wb") as fh:
        fh.write(data)
    return Path(path)


def write_csv(frame: Any, path: str | os.PathLike[str], **to_csv: Any) -> Path:
    """``frame.to_csv(path, **to_csv)``, atomically (pandas writes into the open file)."""
    encoding = to_csv.pop("encoding", "utf-8")
    with atomic_write(path, "w", encoding=encoding, newline="") as fh:
        frame.to_csv(fh, **to_csv)
    return Path(path)


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary folder beside ``path``, renamed to ``path`` when the block succeeds.

    For a bundle (several files that belong together): a reader sees the old folder or
    the complete new one. An existing ``path`` is replaced (moved aside, then removed).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = _temp_beside(target)
    temp.mkdir()
    try:
        yield temp
        for child in temp.rglob("*"):
            if child.is_file():
                with open(child, "rb") as fh:
                    os.fsync(fh.fileno())
        old = None
        if target.exists() or target.is_symlink():
            old = _temp_beside(target)
            os.replace(target, old)
        os.replace(temp, target)
        _fsync_dir(target.parent)
        if old is not None:
            if old.is_dir() and not old.is_symlink():
                shutil.rmtree(old, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    old.unlink()
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
