"""Real `parley run --role ...` subprocesses that can be killed with SIGKILL and restarted.

`RoleProcess` is one process slot: a role, its own HTTP port (every role serves
`/healthz`), its log file (appended across restarts, each start marked), and the times
it was started and killed. `Fleet` holds the slots of one deployment and stops them all,
however a test ends. Nothing here knows about faults or platforms: the environment is
given, so `bench/scale.py` can start the same fleet without the fault machinery.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tests.e2e.support import stop_process
from tests.faults.cluster import free_port

__all__ = ["PARLEY", "Fleet", "RoleProcess", "parley", "parley_env"]

PARLEY = Path(sys.executable).with_name("parley")
"""The console script installed beside the interpreter running the tests."""


def parley_env(database_url: str, **settings: str) -> dict[str, str]:
    """This environment without any PARLEY_ setting, then the database and `settings`
    (names without the prefix, e.g. `QUESTIONNAIRE="..."`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
    env["PARLEY_DATABASE_URL"] = database_url
    env["PYTHONIOENCODING"] = "utf-8"
    env.update({f"PARLEY_{name.upper()}": value for name, value in settings.items()})
    return env


def parley(args: list[str], env: Mapping[str, str], cwd: Path, timeout: float = 60) -> str:
    """Run one `parley` command to completion; its output, or AssertionError with it."""
    done = subprocess.run(
        [str(PARLEY), *args],
        env=dict(env),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
    )
    if done.returncode != 0:
        raise AssertionError(f"parley {' '.join(args)}: {done.stdout}\n{done.stderr}")
    return done.stdout


@dataclass
class RoleProcess:
    """One `parley run --role ROLE` slot: start, kill -9, start again."""

    name: str
    role: str
    env: dict[str, str]
    cwd: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    started_at: list[float] = field(default_factory=list)
    killed_at: list[float] = field(default_factory=list)

    @property
    def log_path(self) -> Path:
        return self.cwd / f"{self.name}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        if self.alive():
            return
        env = {**self.env, "PARLEY_HTTP_HOST": "127.0.0.1", "PARLEY_HTTP_PORT": str(self.port)}
        with self.log_path.open("a", encoding="utf-8") as log:
            log.write(f"\n===== start {len(self.started_at) + 1} ({self.role}) =====\n")
            log.flush()
            self.proc = subprocess.Popen(
                [str(PARLEY), "run", "--role", self.role],
                env=env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.started_at.append(time.monotonic())

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def healthy(self) -> bool:
        """Whether `GET /healthz` answers 200 right now."""
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as response:
                return bool(response.status == 200)
        except (OSError, urllib.error.URLError):
            return False

    def wait_healthy(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise AssertionError(f"{self.name} exited:\n{self.log_tail()}")
            if self.healthy():
                return
            time.sleep(0.1)
        raise AssertionError(f"{self.name} not healthy within {timeout}s:\n{self.log_tail()}")

    def kill9(self) -> None:
        """SIGKILL: no shutdown, no cleanup, like a crash or the OOM killer."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
            self.killed_at.append(time.monotonic())

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 10 s."""
        if self.proc is not None:
            stop_process(self.proc)

    def log(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log().splitlines()[-lines:])


@dataclass
class Fleet:
    """The role processes of one deployment, by name; a context manager that stops them."""

    processes: dict[str, RoleProcess] = field(default_factory=dict)

    def add(self, process: RoleProcess) -> RoleProcess:
        self.processes[process.name] = process
        return process

    def __iter__(self) -> Iterator[RoleProcess]:
        return iter(self.processes.values())

    def __getitem__(self, name: str) -> RoleProcess:
        return self.processes[name]

    def with_role(self, role: str) -> list[RoleProcess]:
        return [p for p in self if p.role == role]

    def start(self, timeout: float = 60.0) -> None:
        for process in self:
            process.start()
        for process in self:
            process.wait_healthy(timeout)

    def stop(self) -> None:
        for process in self:
            if process.alive() and process.proc is not None:
                process.proc.send_signal(signal.SIGTERM)
        for process in self:
            process.stop()

    def __enter__(self) -> Fleet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
