"""A private PostgreSQL cluster in a temporary folder, on a free loopback port.

The fault suite restarts PostgreSQL mid-run; the machine's shared cluster serves other
test runs at the same time, so the suite starts its own with `initdb` / `pg_ctl` from the
installed server binaries (`PARLEY_PG_BIN`, else the newest `/usr/lib/postgresql/*/bin`,
else `pg_config --bindir`). The server refuses to run as root: as root, the cluster's
folder belongs to the `postgres` user and every server command runs as that user.

`fsync=off`: the cluster holds test data only, and a fast restart matters more.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

__all__ = ["ClusterError", "PrivateCluster", "find_server_bin", "free_port"]

SERVER_USER = "postgres"


class ClusterError(RuntimeError):
    """The private cluster could not be created, started or restarted (with its log)."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def find_server_bin() -> Path | None:
    """The folder holding `initdb` and `pg_ctl`, or None when no server is installed."""
    given = os.environ.get("PARLEY_PG_BIN")
    candidates = [Path(given)] if given else []
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    candidates.extend(versions)
    if shutil.which("pg_config"):
        found = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
        candidates.append(Path(found.stdout.strip()))
    return next((c for c in candidates if (c / "initdb").exists()), None)


class PrivateCluster:
    """initdb once, then start / restart / stop; `url` reaches database `postgres`."""

    def __init__(self, bin_dir: Path, port: int | None = None) -> None:
        self.bin_dir = bin_dir
        self.port = port or free_port()
        self.root = Path(tempfile.mkdtemp(prefix="parley-faults-pg-"))
        self.data = self.root / "data"
        self.log_path = self.root / "server.log"
        self.restarts = 0

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _as_server_user(self, args: list[str]) -> list[str]:
        if os.geteuid() != 0:
            return args
        return ["runuser", "-u", SERVER_USER, "--", *args]

    def _run(self, tool: str, *args: str, timeout: float = 60) -> None:
        command = self._as_server_user([str(self.bin_dir / tool), *args])
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise ClusterError(f"{tool} failed: {done.stdout}{done.stderr}\n{self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def init(self) -> PrivateCluster:
        if os.geteuid() == 0:
            entry = pwd.getpwnam(SERVER_USER)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8")
        return self

    def _options(self) -> str:
        settings = {
            "port": str(self.port),
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": f"'{self.root}'",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "200",
        }
        return " ".join(f"-c {name}={value}" for name, value in settings.items())

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log_path),
                  "-o", self._options(), "-w", "-t", "60", "start")  # fmt: skip

    def restart(self, mode: str = "fast") -> float:
        """Restart the server (every session is cut); returns the seconds it took."""
        started = time.monotonic()
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log_path), "-m", mode,
                  "-o", self._options(), "-w", "-t", "60", "restart")  # fmt: skip
        self.restarts += 1
        return time.monotonic() - started

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(ClusterError, subprocess.TimeoutExpired):
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PrivateCluster:
        self.init()
        try:
            self.start()
        except BaseException:
            self.remove()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()
