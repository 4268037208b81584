"""Sweeps on a real (local) Ray: what 2 workers give equals the same backtests run one by
one; every trial reruns alone from its config file and replays; a failing trial and a
lost worker do not stop the sweep; a sweep killed with SIGKILL finishes with --resume
without rerunning what was done.

Ray is started once for the module: 2 CPUs, a small object store, no dashboard, its
temp dir under the test's tmp dir; shut down at the end.  The sample recording is the
bundled 2-hour one.
"""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from rich.console import Console
from typer.testing import CliRunner

from cli import app
from framework.calibration.readiness import assess
from framework.config import load_config
from framework.environments.backtest import run_backtest
from framework.journal.duck import connect
from framework.sweep.command import sweep_command
from framework.sweep.objective import parse_objective
from framework.sweep.plan import DONE, WAIT, make_plan
from framework.sweep.space import load_space
from framework.sweep.trial import summary_figures
from tests.conftest import REPO

ray = pytest.importorskip("ray")

SAMPLE = REPO / "recordings" / "sample-hype"
#: The README's example space: a 2 x 2 grid.
GRID = (REPO / "framework" / "sweep" / "example_space.toml").read_text()
#: Figures of a backtest that depend on the wall clock, not on the trial.
WALL = {"wall_s", "events_per_s"}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> str:
    """A local Ray for the module; yields its address (for a second driver: the CLI)."""
    # Never report usage over the network.  Token authentication is off (so Ray writes
    # no token to ~/.ray/auth_token, and the CLI's driver needs none) and the cluster
    # listens on loopback only: nothing outside this machine can reach it.
    saved = {k: os.environ.get(k) for k in ("RAY_USAGE_STATS_ENABLED", "RAY_AUTH_MODE")}
    os.environ.update(RAY_USAGE_STATS_ENABLED="0", RAY_AUTH_MODE="disabled")
    ray.init(
        num_cpus=2,
        object_store_memory=80 * 1024 * 1024,
        include_dashboard=False,
        _temp_dir=str(tmp_path_factory.mktemp("ray")),
        log_to_driver=False,
        logging_level=logging.ERROR,
        _node_ip_address="127.0.0.1",
    )
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _sweep(tmp: Path, space: str, **kwargs) -> tuple[int, Path, str]:
    path = tmp / "space.toml"
    path.write_text(space)
    out = tmp / "sweep"
    text = io.StringIO()
    code = sweep_command(
        recordings=[str(SAMPLE)],
        space=path,
        out=out,
        quiet=True,
        console=Console(file=text, width=200),
        **kwargs,
    )
    return code, out, text.getvalue()


def _tables(journal: Path) -> dict[str, object]:
    """Every table of a journal, read whole."""
    out = {}
    for table in sorted(p for p in journal.iterdir() if p.is_dir()):
        parts = sorted(table.glob("part-*.parquet"))
        out[table.name] = pq.read_table(parts) if parts else None
    return out


@pytest.fixture(scope="module")
def grid_sweep(cluster, tmp_path_factory) -> tuple[Path, list[dict]]:
    """The 2x2 grid over the sample, 2 trials at a time."""
    code, out, printed = _sweep(tmp_path_factory.mktemp("grid"), GRID, workers=2)
    assert code == 0, printed
    assert "Top trials by max:net_pnl_usd" in printed
    return out, pq.read_table(out / "results.parquet").to_pylist()


def test_two_workers_give_the_same_results_as_the_backtests_one_by_one(grid_sweep, tmp_path):
    out, rows = grid_sweep
    assert [r["trial"] for r in rows] == [0, 1, 2, 3]
    assert [(r["strategy.spread_profile"], r["strategy.requote_tolerance_bps"]) for r in rows] == [
        ("hip3", 1.0),
        ("hip3", 3.0),
        ("aggressive", 1.0),
        ("aggressive", 3.0),
    ]
    assert len({r["net_pnl_usd"] for r in rows}) == 4  # four different outcomes to compare
    for row in rows:
        assert row["status"] == "ok" and row["error"] is None
        trial = out / "trials" / row["id"]
        config = load_config(trial / "config.toml")
        alone = run_backtest(
            SAMPLE, config=config, out=tmp_path / row["id"], seed=row["seed"], progress=False
        )
        # every table of the trial's journal, row for row
        assert _tables(trial / "sample-hype") == _tables(alone.out)
        # every summary figure, the readiness verdict and the edge in the results row
        for key, value in summary_figures(alone.summary).items():
            if key not in WALL:
                assert row[key] == value, key
        verdict = assess(alone.out, config.calibration)
        assert (row["verdict"], row["edge_bps"], row["edge_lo"], row["edge_hi"]) == (
            verdict.verdict,
            verdict.edge_bps,
            verdict.edge_lo,
            verdict.edge_hi,
        )
        assert row["objective"] == alone.summary["net_pnl_usd"]


def test_a_trial_reruns_alone_from_its_config_file_and_replays(grid_sweep, tmp_path):
    out, rows = grid_sweep
    row = rows[2]
    trial = out / "trials" / row["id"]
    header = (trial / "config.toml").read_text().splitlines()[:2]
    assert header[0] == (
        "# market-maker sweep trial 0002: strategy.spread_profile = 'aggressive', "
        "strategy.requote_tolerance_bps = 1.0"
    )
    assert header[1] == (
        f"# rerun: market-maker backtest --recording {SAMPLE} --config "
        f"{trial / 'config.toml'} --seed 0"
    )
    rerun = tmp_path / "rerun"
    args = ["--recording", str(SAMPLE), "--config", str(trial / "config.toml")]
    r = CliRunner().invoke(app, ["backtest", *args, "--seed", "0", "--out", str(rerun), "--quiet"])
    assert r.exit_code == 0, r.output
    assert "warning" not in r.stderr  # the file sets no coin the recording overrides
    assert _tables(trial / "sample-hype") == _tables(rerun)
    v = CliRunner().invoke(app, ["replay", str(trial / "sample-hype"), "--verify"])
    assert v.exit_code == 0 and "identical" in v.output


def test_the_sweep_directory_answers_sql_and_has_a_self_contained_report(grid_sweep):
    out, rows = grid_sweep
    con = connect(out)
    best = con.execute(
        'SELECT id, "strategy.spread_profile", net_pnl_usd FROM results '
        "ORDER BY objective DESC LIMIT 1"
    ).fetchone()
    top = max(rows, key=lambda r: r["objective"])
    assert best == (top["id"], top["strategy.spread_profile"], top["net_pnl_usd"])
    r = CliRunner().invoke(app, ["sql", str(out), "SELECT count(*) AS n FROM results", "-f", "csv"])
    assert r.exit_code == 0 and r.stdout.splitlines() == ["n", "4"]
    page = (out / "report.html").read_text()
    assert page.count('src="data:image/png;base64,') == 3  # 2 parameters + by trial
    assert "http" not in page and "<script" not in page
    # finished: no lost attempts, no Tune snapshots left behind
    assert sorted(p.name for p in (out / "trials").iterdir()) == ["0000", "0001", "0002", "0003"]
    assert not (out / ".ray").exists()


def test_resuming_a_finished_sweep_reruns_nothing_and_needs_no_ray(grid_sweep, monkeypatch):
    from framework.sweep import runner

    def no_ray(*args, **kwargs):
        raise AssertionError("a finished sweep started or joined Ray")

    monkeypatch.setattr(runner, "ray_session", no_ray)
    out, rows = grid_sweep
    stamps = _committed(out)
    space = out.parent / "space.toml"
    text = io.StringIO()
    code = sweep_command(
        recordings=[str(SAMPLE)],
        space=space,
        out=out,
        workers=2,
        resume=True,
        quiet=True,
        console=Console(file=text, width=200),
    )
    assert code == 0, text.getvalue()
    assert "resuming" in text.getvalue() and "4 of 4 trials already done" in text.getvalue()
    assert _committed(out) == stamps
    assert pq.read_table(out / "results.parquet").to_pylist() == rows


def _kill_worker_of_first_trial(out: Path, killed: list[int]) -> None:
    """Kill (SIGKILL) the Ray worker process running trial 0000, once, mid-trial."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not killed:
        for marker in (out / "trials" / ".staging").glob("0000-*/worker.json"):
            try:
                pid = json.loads(marker.read_text())["pid"]
            except (OSError, ValueError):  # not written whole yet
                continue
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
            return
        time.sleep(0.02)


def test_a_failing_trial_and_a_lost_worker_do_not_stop_the_sweep(cluster, tmp_path, capsys):
    # sigma_bps_default = 1e300 passes the config but overflows in the strategy
    # (strategies/market_maker.py): a trial whose backtest fails
    space = "[strategy]\nsigma_bps_default = [2.0, 1e300]\nspread_profile = 'aggressive'\n"
    killed: list[int] = []
    killer = threading.Thread(
        target=_kill_worker_of_first_trial, args=(tmp_path / "sweep", killed), daemon=True
    )
    killer.start()
    code, out, printed = _sweep(tmp_path, space, workers=1)
    killer.join()
    assert killed, "the first trial's worker was never seen running"
    assert "Ray lost the worker of trial 0000; retrying (1)" in printed
    assert code == 0, printed
    ok, failed = pq.read_table(out / "results.parquet").to_pylist()
    assert ok["status"] == "ok" and ok["fills"] > 0
    record = json.loads((out / "trials" / "0000" / "result.json").read_text())
    assert record["worker"]["pid"] != killed[0]  # run again, by another worker process
    assert failed["status"] == "error" and failed["objective"] is None
    assert failed["error"].startswith("OverflowError: "), failed["error"]
    assert failed["journal"] == "trials/0001/sample-hype"  # what ran, closed with its error
    assert "warning: trial 0001 failed: OverflowError" in capsys.readouterr().err
    assert not (out / "trials" / ".staging").exists()


def _committed(out: Path) -> dict[str, tuple[int, int]]:
    """Committed trial -> (inode, mtime) of its result file."""
    found = {}
    for result in (out / "trials").glob("[0-9]*/result.json"):
        st = result.stat()
        found[result.parent.name] = (st.st_ino, st.st_mtime_ns)
    return found


def test_resume_after_sigkill_finishes_without_rerunning_finished_trials(cluster, tmp_path):
    space = tmp_path / "space.toml"
    space.write_text(
        "[strategy]\nspread_profile = ['hip3', 'aggressive']\n"
        "requote_tolerance_bps = { low = 0.5, high = 5.0 }\n"
    )
    out = tmp_path / "sweep"
    args = [sys.executable, "cli.py", "sweep", "--recording", str(SAMPLE), "--space", str(space)]
    args += ["--search", "optuna", "--trials", "4", "--seed", "3", "--workers", "2"]
    args += ["--keep", "summary", "--out", str(out), "--address", cluster, "--quiet"]
    env = dict(os.environ)  # RAY_AUTH_MODE as the cluster's (see cluster)
    first = subprocess.Popen(
        args, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 240
        while len(_committed(out)) < 2 and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert first.poll() is None, f"the sweep ended before it was killed: {first.stdout.read()}"
        first.send_signal(signal.SIGKILL)
    finally:
        first.kill()
        first.wait()
    done = _committed(out)
    assert 2 <= len(done) < 4, done

    second = subprocess.run([*args, "--resume"], cwd=REPO, env=env, capture_output=True, text=True)
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"resuming {out}: {len(done)} of 4 trials already done" in second.stdout
    after = _committed(out)
    assert sorted(after) == ["0000", "0001", "0002", "0003"]
    assert {t: after[t] for t in done} == done  # finished trials were not run again
    rows = pq.read_table(out / "results.parquet").to_pylist()
    assert [r["trial"] for r in rows] == list(range(4))
    assert all(r["status"] == "ok" for r in rows)
    # --keep summary: each trial keeps its manifest (with the summary), not the tables
    assert sorted(p.name for p in (out / "trials" / "0003" / "sample-hype").iterdir()) == [
        "session.json"
    ]
    # the set of trials is the one the seed fixes: a fresh plan told the same objectives
    # (batches of --workers 2) asks for exactly these parameters
    plan = make_plan(
        "optuna", load_space(space), parse_objective("net_pnl_usd"), trials=4, seed=3, batch=2
    )
    asked = {}
    while (ask := plan.ask()) != DONE:
        if ask == WAIT:
            for i in [i for i in asked if i not in plan.told]:
                plan.tell(i, rows[i]["objective"])
            continue
        asked[ask.index] = ask.params
    assert asked == {r["trial"]: json.loads(r["params"]) for r in rows}
