"""A throwaway PostgreSQL cluster for the tests (Debian's ``postgresql`` package).

The Makefile's ``postgres-deps`` target installs the server; :class:`ThrowawayCluster`
runs ``initdb`` into a fresh temporary directory and starts ``postgres`` listening on a
Unix socket inside that directory only (``listen_addresses=''``): no TCP port, so nothing
can collide with another cluster or another engineer's server, and nothing is reachable
from outside. ``stop()`` shuts it down (``pg_ctl stop -m immediate``) and deletes the
directory.

PostgreSQL refuses to run as root (``initdb: cannot be run as root``) and CI runs the
tests as root: then the cluster directory is given to the ``postgres`` system user (which
the Debian package creates) and every server command runs as that user through
``runuser``. Run as any other user, the commands run as that user directly.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

PORT = 5432
"""Only names the socket file (``.s.PGSQL.5432``) inside the private socket directory."""


def server_bin_dir() -> Path | None:
    """The newest ``/usr/lib/postgresql/<major>/bin`` that has ``initdb``, or None."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: (
            int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0
        ),
    )
    return Path(found[-1]).parent if found else None


def _as_user() -> list[str]:
    """Command prefix running a server command as a non-root user."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError as exc:
        raise RuntimeError(
            "running as root but there is no 'postgres' system user to run the server as "
            "(install Debian's postgresql package: make postgres-deps)"
        ) from exc
    return ["runuser", "-u", "postgres", "--"]


@dataclass
class ThrowawayCluster:
    """One initialised and started cluster; ``url`` reaches database ``capacity_test``."""

    bin_dir: Path
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="capacity-pg-")))
    database: str = "capacity_test"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "sock"

    @property
    def user(self) -> str:
        return "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name

    def url(self, database: str | None = None) -> str:
        """SQLAlchemy URL over the private Unix socket (psycopg 3)."""
        db = database or self.database
        return f"postgresql+psycopg://{self.user}@/{db}?host={self.socket_dir}&port={PORT}"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [*_as_user(), *args], capture_output=True, text=True, timeout=120, check=False
        )
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
        return proc

    def start(self) -> ThrowawayCluster:
        """initdb, start the server, create the test database."""
        self.socket_dir.mkdir(parents=True)
        if os.geteuid() == 0:
            entry = pwd.getpwnam("postgres")
            for path in (self.root, self.socket_dir):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        self._run(
            str(self.bin_dir / "initdb"), "-D", str(self.data_dir), "-A", "trust",
            "-U", self.user, "-E", "UTF8", "--locale=C.UTF-8", "--no-sync",
        )  # fmt: skip
        options = (
            f"-c listen_addresses='' -c unix_socket_directories={self.socket_dir} "
            f"-c port={PORT} -c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=200 -c shared_buffers=32MB"
        )
        self._run(
            str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-w", "-t", "60",
            "-l", str(self.root / "server.log"), "-o", options, "start",
        )  # fmt: skip
        self._run(
            str(self.bin_dir / "createdb"), "-h", str(self.socket_dir), "-p", str(PORT),
            "-U", self.user, self.database,
        )  # fmt: skip
        return self

    def create_database(self, name: str) -> str:
        """A fresh empty database; returns its URL."""
        self._run(
            str(self.bin_dir / "createdb"), "-h", str(self.socket_dir), "-p", str(PORT),
            "-U", self.user, name,
        )  # fmt: skip
        return self.url(name)

    def stop(self) -> None:
        """Stop the server (immediately: the data is thrown away) and delete the directory."""
        try:
            if (self.data_dir / "postmaster.pid").exists():
                self._run(
                    str(self.bin_dir / "pg_ctl"),
                    "-D",
                    str(self.data_dir),
                    "-m",
                    "immediate",
                    "stop",
                )
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
