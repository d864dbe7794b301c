"""The durable spool of rows the database refused, and the log's Prometheus series."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL

from serving.logbook.engine import _sqlite_file
from serving.logbook.records import StoredBatch
from serving.logbook.schema import _BATCH, _REC
from serving.logbook.settings import _mask_url
from serving.settings import state_home

_LOG = logging.getLogger("serving.logbook")
SPOOL_FILE = "recommendations-unwritten.jsonl"
"""Rows the database could not take, one JSON object a line (appended and fsynced); they are
replayed into the database, idempotently, as soon as it takes writes again."""
SPOOL_MIN_FREE_BYTES = 8 * 1024 * 1024
"""Free space a spool location must have to count as writable (:meth:`_Spool.probe`)."""
_SPOOL_BATCH_KIND = "batch"  # a spool line holding a whole keyed batch (replayed all or none)


_Group = tuple[list[dict[str, Any]], dict[str, Any] | None]
"""Rows written in one transaction, with the keyed batch request they belong to (or None)."""


def _spool_default(value: object) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


_PATHS = re.compile(r"(?<![\w.])(?:[A-Za-z]:)?[\\/](?:[^\\/\s'\"()\[\]]+[\\/])+[^\\/\s'\"()\[\]]*")


def public_error(exc: BaseException) -> str:
    """An error as ``Type: message`` with absolute paths cut to their last part, URLs masked."""
    message = _mask_url(str(exc).splitlines()[0] if str(exc) else "")

    def last_part(match: re.Match[str]) -> str:
        text_ = match.group(0)
        name = re.split(r"[\\/]", text_.rstrip("/\\"))[-1]
        return f".../{name}" if name else "..."

    message = _PATHS.sub(last_part, message)[:300]
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


class _Metrics:
    """Prometheus series of the log (created once per process; absent without the client)."""

    _instance: _Metrics | None = None
    _guard = threading.Lock()

    def __init__(self) -> None:
        from prometheus_client import Counter, Gauge

        self.spooled = Counter(
            "capacity_log_spooled_rows",
            "Recommendation rows written to the local spool because the database refused them",
        )
        self.replayed = Counter(
            "capacity_log_replayed_rows",
            "Spooled recommendation rows replayed into the database",
        )
        self.backlog = Gauge(
            "capacity_log_spool_backlog_rows",
            "Recommendation rows in the spool, waiting for the database",
            multiprocess_mode="livemax",
        )

    @classmethod
    def get(cls) -> _Metrics | None:
        with cls._guard:
            if cls._instance is None:
                try:
                    cls._instance = cls()
                except Exception:  # no prometheus_client, or a clashing registry
                    _LOG.debug("recommendation log: no metrics", exc_info=True)
                    return None
            return cls._instance


class _Spool:
    """Append-only JSON-lines files of unwritten rows, shared by the processes of one log.

    Appends are one ``write`` then ``fsync``; appends and replays of all processes are
    serialised by an ``flock`` on ``<spool>.lock``. Ordinary rows are one line each (a
    recommendation row); a keyed batch is one line ``{"_kind": "batch", "request": ...,
    "rows": [...]}`` so it is replayed whole or not at all. ``paths[0]`` is used first; the
    others only when it cannot be written. A line that does not parse (a crash mid-append)
    is moved to ``<spool>.corrupt`` at replay, never silently dropped.
    """

    def __init__(self, paths: list[Path]) -> None:
        self.paths = list(dict.fromkeys(paths))
        self._lock = threading.RLock()
        self.backlog = self._count()
        self.total = 0

    @property
    def path(self) -> Path:
        return self.paths[0]

    @contextlib.contextmanager
    def locked(self, path: Path) -> Iterator[None]:
        with self._lock:
            handle = None
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                handle = open(path.with_name(path.name + ".lock"), "a+b")  # noqa: SIM115
                with contextlib.suppress(ImportError):
                    import fcntl

                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            except OSError:
                # Unwritable directory: the append below fails (and the next path is tried);
                # a read-only replay can still go on in this process.
                pass
            try:
                yield
            finally:
                if handle is not None:
                    handle.close()  # releases the flock

    def existing(self) -> list[Path]:
        out = []
        for path in self.paths:
            with contextlib.suppress(OSError):
                if path.stat().st_size > 0:
                    out.append(path)
        return out

    def _count(self) -> int:
        total = 0
        for path in self.existing():
            with contextlib.suppress(OSError):
                total += sum(n for n, _ in self._groups(path.read_bytes())[0])
        return total

    @staticmethod
    def _groups(data: bytes) -> tuple[list[tuple[int, _Group]], list[bytes]]:
        groups: list[tuple[int, _Group]] = []
        bad: list[bytes] = []
        for line in data.splitlines():
            if not line.strip():
                continue
            try:
                doc = json.loads(line)
                if not isinstance(doc, dict):
                    raise ValueError("not an object")
                if doc.get("_kind") == _SPOOL_BATCH_KIND:
                    rows = [_row_from_spool(r) for r in doc["rows"]]
                    groups.append((len(rows), (rows, _request_from_spool(doc["request"]))))
                else:
                    groups.append((1, ([_row_from_spool(doc)], None)))
            except (ValueError, KeyError, TypeError):
                bad.append(line)
        return groups, bad

    def append(self, groups: list[_Group]) -> int:
        """Append and fsync; the number of rows spooled. Raises OSError if no path takes them."""
        lines: list[str] = []
        n = 0
        for rows, request in groups:
            n += len(rows)
            if request is None:
                lines.extend(
                    json.dumps(r, ensure_ascii=False, default=_spool_default) for r in rows
                )
            else:
                doc = {"_kind": _SPOOL_BATCH_KIND, "request": request, "rows": rows}
                lines.append(json.dumps(doc, ensure_ascii=False, default=_spool_default))
        data = ("\n".join(lines) + "\n").encode("utf-8")
        failure: OSError | None = None
        for path in self.paths:
            try:
                with self.locked(path):
                    path.parent.mkdir(parents=True, exist_ok=True)
                    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                    try:
                        view = memoryview(data)
                        while view:
                            written = os.write(fd, view)
                            view = view[written:]
                        os.fsync(fd)
                    finally:
                        os.close(fd)
                self.backlog += n
                self.total += n
                return n
            except OSError as exc:
                failure = exc
                _LOG.error("recommendation log: spool %s not writable: %s", path.name, exc)
        assert failure is not None
        raise failure

    def probe(self) -> str | None:
        """None when some spool path takes a durable write now, else why none does.

        Writes, fsyncs and removes a small file beside each path in turn, and asks for
        :data:`SPOOL_MIN_FREE_BYTES` free: a spool that only fails when it is needed (the
        database's storage read-only or full, the spool on the same storage) would lose
        the rows it exists for.
        """
        problems: list[str] = []
        for path in self.paths:
            probe = path.with_name(f".{path.name}.probe-{os.getpid()}")
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                try:
                    os.write(fd, b"probe\n")
                    os.fsync(fd)
                finally:
                    os.close(fd)
                probe.unlink()
                free = os.statvfs(path.parent).f_bavail * os.statvfs(path.parent).f_frsize
                if free < SPOOL_MIN_FREE_BYTES:
                    raise OSError(f"only {free} bytes free (at least {SPOOL_MIN_FREE_BYTES})")
                return None
            except OSError as exc:
                with contextlib.suppress(OSError):
                    probe.unlink()
                problems.append(f"{path.parent.name}/{path.name}: {public_error(exc)}")
        return "no writable spool: " + "; ".join(problems)

    def contains(self, needle: str) -> bool:
        """Whether some spooled line contains ``needle`` (an id or a key, as JSON text)."""
        raw = needle.encode("utf-8")
        for path in self.existing():
            with contextlib.suppress(OSError):
                if raw in path.read_bytes():
                    return True
        return False

    def find_batch(self, key: str) -> StoredBatch | None:
        quoted = json.dumps(key).encode("utf-8")
        for path in self.existing():
            try:
                data = path.read_bytes()
            except OSError:
                continue
            if quoted not in data:
                continue
            for _, (_rows, request) in self._groups(data)[0]:
                if request is not None and request["key"] == key:
                    return StoredBatch(
                        key,
                        request["body_sha256"],
                        request["batch_id"],
                        tuple(json.loads(request["ids_json"])),
                    )
        return None

    def replay(self, write: Callable[[list[_Group]], None]) -> int:
        """Write every spooled group with ``write`` (one transaction); then remove the files.

        The files are removed only after ``write`` returned (committed); a crash in between
        leaves them, and the next replay skips the rows already written (``write`` is
        idempotent). Returns the number of rows replayed.
        """
        done = 0
        for path in self.existing():
            with self.locked(path):
                try:
                    data = path.read_bytes()
                except FileNotFoundError:
                    continue
                groups, bad = self._groups(data)
                if groups:
                    write([g for _, g in groups])
                if bad:
                    corrupt = path.with_name(path.name + ".corrupt")
                    with corrupt.open("ab") as out:
                        out.write(b"\n".join(bad) + b"\n")
                        out.flush()
                        os.fsync(out.fileno())
                    _LOG.error(
                        "recommendation log: %d unreadable spool line(s) kept in %s",
                        len(bad),
                        corrupt.name,
                    )
                path.unlink()
                done += sum(n for n, _ in groups)
        self.backlog = self._count()
        return done


def _row_from_spool(doc: Mapping[str, Any]) -> dict[str, Any]:
    row = {c.name: doc.get(c.name) for c in _REC.columns}
    if not isinstance(row["id"], str) or not isinstance(row["created_at"], str):
        raise ValueError("not a recommendation row")
    row["created_at"] = datetime.fromisoformat(row["created_at"])
    return row


def _request_from_spool(doc: Mapping[str, Any]) -> dict[str, Any]:
    request = {c.name: doc[c.name] for c in _BATCH.columns}
    request["created_at"] = datetime.fromisoformat(request["created_at"])
    return request


def _spool_paths(url: URL, spool_dir: Path | None) -> list[Path]:
    """Where unwritten rows go, in order of preference.

    ``spool_dir``, else beside a SQLite file, else in ``CAPACITY_HOME``; then
    ``CAPACITY_HOME/spool`` (or ``var/spool``) as the fallback.
    """
    base = state_home()
    db_file = _sqlite_file(url)
    if spool_dir is not None:
        first = Path(spool_dir).expanduser().resolve() / SPOOL_FILE
    elif db_file is not None:
        first = db_file.parent / SPOOL_FILE
    else:
        first = base / SPOOL_FILE
    tag = hashlib.sha256(url.render_as_string(hide_password=False).encode()).hexdigest()[:12]
    return [first, base / "spool" / f"recommendations-unwritten-{tag}.jsonl"]


def _spool_path(url: URL) -> Path:
    """The first spool file of ``url`` (see :func:`_spool_paths`)."""
    return _spool_paths(url, None)[0]
