"""Benchmark (#6): the digest over 20,000 runs × 50 items (1,000,000 answers).

Generates the study in a database (a fresh SQLite file by default; `--database-url` for
PostgreSQL, whose tables it empties first), then, in one process, times:

- the **plain read**: one `SELECT` of the answer rows the digest reads (the same columns,
  the same join to runs), fetched once through the SQLAlchemy Core connection;
- the **digest**: frames (`analytics.frames`), summaries (`analytics.digest.build_digest`),
  and, when those modules exist, charts (`analytics.charts`) and rendering
  (`analytics.render`);
- the **export** (`analytics.export`), when it exists.

Targets from the issue: digest ≤ 2x the plain read; export ≤ 3x; peak RSS ≤ 1.5 GB. The
data is generated in a child process, so the peak RSS reported is the measuring
process's own. Each timing is the best of `--repeat` runs (default 3).

Peak RSS is also reported per phase (plain reads, digests, exports): on Linux the
high-water mark is reset before each phase (`/proc/self/clear_refs`, after a
`gc.collect()`), so each phase shows its own peak; the whole run's peak is the largest
of them. Elsewhere only the whole run's peak (`ru_maxrss`) is known.

    .venv/bin/python bench/digest.py [--runs 20000] [--database-url URL] [--repeat 3]
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
import yaml  # noqa: E402

from conversations.loading import questionnaire_from_definition  # noqa: E402
from conversations.questionnaire import ItemType, Questionnaire  # noqa: E402
from storage import make_engine  # noqa: E402
from storage.migrate import ensure_schema  # noqa: E402
from storage.models import Answer, Run, Stakeholder, StoredQuestionnaire  # noqa: E402

EXAMPLE = ROOT / "examples" / "settlement-data-needs.yaml"
ITEMS = 50
RUNS_PER_BATCH = 1_000
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
ORG_TYPES = ("non_profit", "municipality", "provincial_gov", "university", "sector_council")
REGIONS = ("atlantic", "quebec", "ontario", "prairies", "bc", "north")
WORDS = (
    "data",
    "newcomers",
    "housing",
    "language",
    "employment",
    "funding",
    "reports",
    "clients",
    "outcomes",
    "the",
    "les",
    "données",
    "services",
    "partners",
)


# --- the study ----------------------------------------------------------------------------


def bench_definition() -> dict[str, Any]:
    """The example questionnaire plus a section that brings it to 50 questions."""
    definition = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    questions = [i for s in definition["sections"] for i in s["items"] if i["type"] != "note"]
    extra = [{**questions[n], "id": f"bench_extra_{n}"} for n in range(ITEMS - len(questions))]
    for item in extra:
        item.pop("relevant", None)
    definition["sections"].append(
        {"id": "bench", "title": {"en": "Bench", "fr": "Banc"}, "items": extra}
    )
    return definition


def value_for(item: Any, rng: random.Random) -> tuple[Any, str]:
    """A plausible stored value and display for one item."""
    kind = item.type
    if kind is ItemType.SINGLE_CHOICE:
        choice = rng.choice(item.choices)
        return choice.id, choice.label.get("en")
    if kind is ItemType.MULTI_CHOICE:
        picked = [c.id for c in item.choices if rng.random() < 0.35 and not c.exclusive]
        return picked, ", ".join(picked)
    if kind is ItemType.SCALE:
        value = rng.randint(item.scale_min, item.scale_max)
        return value, str(value)
    if kind is ItemType.YES_NO:
        value = rng.random() < 0.6
        return value, "Yes" if value else "No"
    if kind is ItemType.NUMBER:
        value = rng.randint(0, 500)
        return value, str(value)
    if kind is ItemType.DATE:
        day = (NOW - timedelta(days=rng.randint(0, 900))).date().isoformat()
        return day, day
    text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12)))
    return text, text


def generate(database_url: str, runs: int, seed: int = 6) -> None:
    """Write `runs` stakeholders, runs and 50 answers per run with Core executemany."""
    engine = make_engine(database_url)
    ensure_schema(engine)
    loaded = bench_definition()
    questionnaire = questionnaire_from_definition(loaded, "bench")
    questions = [i for i in questionnaire.items if i.is_question]
    rng = random.Random(seed)
    with engine.begin() as connection:
        _empty(connection)
        connection.execute(sa.insert(StoredQuestionnaire), [_stored(loaded, questionnaire)])
        connection.execute(sa.insert(Stakeholder), list(_stakeholders(runs, rng)))
        connection.execute(sa.insert(Run), list(_runs(runs, questionnaire, rng)))
    for start in range(0, runs, RUNS_PER_BATCH):
        run_ids = range(start + 1, min(start + RUNS_PER_BATCH, runs) + 1)
        rows = list(_answers(run_ids, questions, rng))
        with engine.begin() as connection:
            connection.execute(sa.insert(Answer), rows)
    engine.dispose()


def _empty(connection: sa.Connection) -> None:
    for table in ("answer_history", "answers", "outbox", "runs", "identities", "invites"):
        connection.execute(sa.text(f"DELETE FROM {table}"))
    for table in ("group_invitees", "group_poll_votes", "group_poll_invitees"):
        connection.execute(sa.text(f"DELETE FROM {table}"))
    for table in ("scheduled_sends", "stakeholders", "questionnaires"):
        connection.execute(sa.text(f"DELETE FROM {table}"))


def _stored(definition: dict[str, Any], questionnaire: Questionnaire) -> dict[str, Any]:
    return {
        "key": questionnaire.id,
        "version": questionnaire.version,
        "definition": definition,
        "checksum": "bench",
        "loaded_at": NOW,
    }


def _stakeholders(count: int, rng: random.Random) -> Iterator[dict[str, Any]]:
    for number in range(1, count + 1):
        yield {
            "id": number,
            "name": f"Person {number}",
            "organisation": f"Org {number // 3}",
            "organisation_type": rng.choice(ORG_TYPES),
            "region": rng.choice(REGIONS),
            "language": "fr" if rng.random() < 0.3 else "en",
            "time_zone": "America/Toronto",
            "email": None,
            "created_at": NOW - timedelta(days=30),
        }


def _runs(count: int, questionnaire: Questionnaire, rng: random.Random) -> Iterator[dict[str, Any]]:
    last = questionnaire.items[-1].id
    for number in range(1, count + 1):
        created = NOW - timedelta(days=20, minutes=rng.randint(0, 20_000))
        completed = rng.random() < 0.9
        yield {
            "id": number,
            "stakeholder_id": number,
            "questionnaire_key": questionnaire.id,
            "questionnaire_version": questionnaire.version,
            "wave": "main",
            "status": "completed" if completed else "in_progress",
            "state": {"language": "en", "cursor": None if completed else last},
            "version_id": 1,
            "created_at": created,
            "updated_at": created + timedelta(minutes=30),
            "completed_at": created + timedelta(minutes=rng.randint(8, 60)) if completed else None,
        }


def _answers(run_ids: range, questions: list[Any], rng: random.Random) -> Iterator[dict[str, Any]]:
    for run_id in run_ids:
        at = NOW - timedelta(days=10, seconds=run_id)
        for item in questions:
            skipped = rng.random() < 0.03
            value, display = (None, "") if skipped else value_for(item, rng)
            yield {
                "run_id": run_id,
                "item_id": item.id,
                "raw": display,
                "value": value,
                "display": display,
                "other_text": None,
                "state": "skipped" if skipped else "answered",
                "language": "en",
                "questionnaire_version": "1",
                "answered_at": at,
                "updated_at": at,
            }


# --- the measurements ----------------------------------------------------------------------


def plain_read(engine: sa.Engine, key: str) -> int:
    """The baseline: the answer rows of the study's runs, every column the long frame
    holds, read once through the Core connection into Python tuples."""
    statement = (
        sa.select(
            Answer.run_id,
            Answer.item_id,
            Answer.value,
            Answer.display,
            Answer.state,
            Answer.answered_at,
            Answer.other_text,
            Answer.language,
            Answer.questionnaire_version,
        )
        .join(Run, Run.id == Answer.run_id)
        .where(Run.questionnaire_key == key, Run.wave == "main")
    )
    with engine.connect() as connection:
        return len(connection.execute(statement).all())


def raw_read(engine: sa.Engine, key: str) -> int:
    """The floor: the same rows and columns with no type processing at all (JSON and times
    stay the driver's text or values), as a plain DB-API program would read them."""
    statement = sa.text(
        "SELECT a.run_id, a.item_id, a.value, a.display, a.state, a.answered_at,"
        " a.other_text, a.language, a.questionnaire_version"
        " FROM answers a JOIN runs r ON r.id = a.run_id"
        " WHERE r.questionnaire_key = :key AND r.wave = 'main'"
    )
    with engine.connect() as connection:
        return len(connection.execute(statement, {"key": key}).all())


def optional(module: str, name: str) -> Callable[..., Any] | None:
    """`module.name` if the module exists yet (charts, render and export land separately)."""
    try:
        return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]
    except (ImportError, AttributeError):
        return None


def full_digest(engine: sa.Engine, questionnaire: Questionnaire, parts: dict[str, float]) -> Any:
    """Frames, summaries, charts and rendering, timing each part into `parts`."""
    from analytics.digest import digest_from_database

    started = time.perf_counter()
    digest = digest_from_database(engine, questionnaire, None, NOW)
    parts["frames+summaries"] = time.perf_counter() - started
    for label, module, name in (
        ("charts", "analytics.charts", "charts_for"),
        ("render", "analytics.render", "to_slack"),
        ("render", "analytics.render", "to_telegram"),
        ("render", "analytics.render", "to_console"),
    ):
        function = optional(module, name)
        if function is not None:
            started = time.perf_counter()
            function(digest, questionnaire, "en")
            parts[label] = parts.get(label, 0.0) + time.perf_counter() - started
    return digest


def export(engine: sa.Engine, questionnaire: Questionnaire, folder: Path) -> bool:
    """The long CSV export of the same data; False if the export modules are not there."""
    export_tables = optional("analytics.export", "export_tables")
    request = optional("analytics.export", "ExportRequest")
    write = optional("analytics.export_files", "write_export")
    file_format = optional("analytics.export", "FileFormat")
    if None in (export_tables, request, write, file_format):
        return False
    from analytics.frames import load_frames

    frames = load_frames(engine, questionnaire.id)
    tables = export_tables(frames, [questionnaire], request(questionnaire.id), "bench-key")  # type: ignore[misc]
    write(tables, folder / "export.csv", file_format.CSV)  # type: ignore[misc, union-attr]
    return True


def best(repeat: int, action: Callable[[], Any]) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times)


def timed_digest(
    engine: sa.Engine, questionnaire: Questionnaire, repeat: int
) -> tuple[float, dict[str, float]]:
    """The fastest of `repeat` full digests, with that run's parts."""
    runs = []
    for _ in range(repeat):
        parts: dict[str, float] = {}
        started = time.perf_counter()
        full_digest(engine, questionnaire, parts)
        runs.append((time.perf_counter() - started, parts))
    return min(runs, key=lambda run: run[0])


def peak_rss_mb() -> float:
    """The high-water mark of this process's RSS (since the last `new_peak()`, on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def new_peak() -> None:
    """Collect garbage and start a new high-water mark, where Linux allows it."""
    gc.collect()
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM and ru_maxrss


def measure(database_url: str, repeat: int) -> dict[str, Any]:
    engine = make_engine(database_url)
    questionnaire = questionnaire_from_definition(bench_definition(), "bench")
    new_peak()
    rows = plain_read(engine, questionnaire.id)
    plain = best(repeat, lambda: plain_read(engine, questionnaire.id))
    raw = best(repeat, lambda: raw_read(engine, questionnaire.id))
    rss_reads = peak_rss_mb()
    new_peak()
    digest_time, parts = timed_digest(engine, questionnaire, repeat)
    rss_digest = peak_rss_mb()
    new_peak()
    with tempfile.TemporaryDirectory() as folder:
        exported = export(engine, questionnaire, Path(folder))
        export_time = (
            best(repeat, lambda: export(engine, questionnaire, Path(folder))) if exported else None
        )
    rss_export = peak_rss_mb()
    engine.dispose()
    return {
        "answers": rows,
        "plain_read_s": plain,
        "raw_read_s": raw,
        "digest_ratio_raw": digest_time / raw,
        "digest_s": digest_time,
        "digest_parts_s": parts,
        "digest_ratio": digest_time / plain,
        "export_s": export_time,
        "export_ratio": export_time / plain if export_time is not None else None,
        "peak_rss_mb": max(rss_reads, rss_digest, rss_export),
        "peak_rss_mb_phase": {"reads": rss_reads, "digest": rss_digest, "export": rss_export},
    }


def report(result: dict[str, Any], backend: str, runs: int) -> str:
    parts = ", ".join(f"{k} {v:.2f}s" for k, v in result["digest_parts_s"].items())
    lines = [
        f"digest bench ({backend}): {runs:,} runs, {result['answers']:,} answers",
        f"  plain read   {result['plain_read_s']:.2f}s  (Core SELECT, column types applied)",
        f"  raw read     {result['raw_read_s']:.2f}s  (same SQL as text, no type processing)",
        f"  digest       {result['digest_s']:.2f}s  = {result['digest_ratio']:.2f}x plain"
        f"  (target <= 2x; {result['digest_ratio_raw']:.2f}x raw; {parts})",
    ]
    if result["export_s"] is None:
        lines.append("  export       (analytics.export not available yet)")
    else:
        lines.append(
            f"  export       {result['export_s']:.2f}s  = {result['export_ratio']:.2f}x plain"
            "  (target <= 3x; long CSV + codebook)"
        )
    phase = result["peak_rss_mb_phase"]
    lines.append(
        f"  peak RSS     {result['peak_rss_mb']:.0f} MB  (target <= 1536 MB; per phase: plain"
        f" reads {phase['reads']:.0f} MB, digests {phase['digest']:.0f} MB,"
        f" exports {phase['export']:.0f} MB)"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20_000)
    parser.add_argument("--database-url", help="PostgreSQL URL (its Parley tables are emptied)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON")
    args = parser.parse_args()
    if args.generate_only:
        generate(args.database_url, args.runs)
        return
    with tempfile.TemporaryDirectory(prefix="parley-digest-bench-") as folder:
        url = args.database_url or f"sqlite:///{folder}/bench.sqlite3"
        started = time.perf_counter()
        command = [sys.executable, __file__, "--generate-only", "--runs", str(args.runs)]
        subprocess.run([*command, "--database-url", url], check=True, timeout=1800)
        print(f"generated in {time.perf_counter() - started:.1f}s", file=sys.stderr)
        result = measure(url, args.repeat)
    print(
        json.dumps(result, indent=2) if args.json else report(result, url.split(":")[0], args.runs)
    )


if __name__ == "__main__":
    main()
