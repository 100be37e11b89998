"""One Parley deployment for the fault suite: a private PostgreSQL, the platform fakes, the
router in front of the web processes, and the role processes themselves.

`Deployment` only assembles and tears down; the faults (`chaos`), the stakeholders
(`stakeholders`) and the final checks (`checks`) act on it from outside.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.fakes.slack_api import FakeSlack
from tests.fakes.telegram_api import FakeTelegram
from tests.faults.cluster import PrivateCluster, find_server_bin
from tests.faults.processes import Fleet, RoleProcess, parley, parley_env
from tests.faults.traffic import Router

__all__ = ["QUESTIONNAIRE", "Deployment", "Topology", "deployment"]

QUESTIONNAIRE = Path(__file__).with_name("short.yaml")
WEBHOOK_SECRET = "faults-webhook-secret"


@dataclass(frozen=True)
class Topology:
    """How many processes of each role; the extra ones of an elected role stand by."""

    web: int = 2
    dispatcher: int = 2
    scheduler: int = 2

    def slots(self) -> list[tuple[str, str]]:
        """(name, role) of every process, e.g. ("web-1", "web")."""
        counts = {"web": self.web, "dispatcher": self.dispatcher, "scheduler": self.scheduler}
        return [
            (f"{role}-{n}", role) for role, count in counts.items() for n in range(1, count + 1)
        ]


@dataclass
class Deployment:
    cluster: PrivateCluster
    telegram: FakeTelegram
    slack: FakeSlack
    router: Router
    fleet: Fleet
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def database_url(self) -> str:
        return self.cluster.url

    def web_urls(self) -> list[str]:
        return [p.url for p in self.fleet.with_role("web")]

    def parley(self, *args: str) -> str:
        """A `parley` command (CLI) against this deployment's database."""
        return parley(list(args), self.env, self.workdir)


def _env(
    cluster: PrivateCluster, tg: FakeTelegram, slack: FakeSlack, router: Router
) -> dict[str, str]:
    return parley_env(
        cluster.url,
        questionnaire=str(QUESTIONNAIRE),
        open_enrollment="true",
        telegram_token=tg.token,
        telegram_api_url=tg.api_root,
        telegram_webhook_url=router.telegram_url,
        telegram_webhook_secret=WEBHOOK_SECRET,
        slack_bot_token=slack.bot_token,
        slack_signing_secret=slack.signing_secret,
        slack_api_url=slack.api_url,
        quiet_hours="00:00-00:00",
        quiet_weekends="false",
        log_level="INFO",
        log_format="json",
    )


@contextlib.contextmanager
def deployment(rng: random.Random, topology: Topology = Topology()) -> Iterator[Deployment]:
    """Everything up but the role processes (start them with `deployment.fleet.start()`):
    the schema is migrated once, by `parley db upgrade`, as operators are told to."""
    bin_dir = find_server_bin()
    if bin_dir is None:
        raise RuntimeError("no PostgreSQL server binaries (initdb) found; set PARLEY_PG_BIN")
    workdir = Path(tempfile.mkdtemp(prefix="parley-faults-"))
    fleet = Fleet()
    with contextlib.ExitStack() as stack:
        cluster = stack.enter_context(PrivateCluster(bin_dir))
        tg = stack.enter_context(FakeTelegram())
        slack = stack.enter_context(FakeSlack())
        router = stack.enter_context(
            Router(lambda: [p.url for p in fleet.with_role("web")], rng, slack.signing_secret)
        )
        slack.request_url = router.slack_url
        env = _env(cluster, tg, slack, router)
        for name, role in topology.slots():
            fleet.add(RoleProcess(name, role, env, workdir))
        stack.enter_context(fleet)
        deployed = Deployment(cluster, tg, slack, router, fleet, workdir, env)
        deployed.parley("db", "upgrade")
        try:
            yield deployed
        except BaseException:
            print(f"fault suite: logs kept in {workdir}")
            raise
    if os.environ.get("PARLEY_FAULTS_KEEP"):
        print(f"fault suite: logs kept in {workdir} (PARLEY_FAULTS_KEEP)")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
