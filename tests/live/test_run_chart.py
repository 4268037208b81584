"""Every branch of the seed's Auto-Calibration Pipeline against the simulator, and each
flag: live trading starts only where the chart allows, and every decision is printed
and journaled (``control`` rows, topic ``run``)."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import attrs
import pytest

from framework.calibration.prior import load_prior, prior_path, save_prior
from framework.journal.manifest import read_manifest
from framework.live.pipeline import Gate, plan
from tests.live.conftest import (
    BASE_CONFIG,
    PY,
    REPO,
    control,
    make_account,
    run,
    table,
    verify,
    write_config,
)

pytestmark = pytest.mark.simulator

#: thresholds a 2-second calibration run passes as Marginal
PASSING = "[calibration]\nmin_session_s = 1.0\nmarginal_min_converged = 0\n"


@pytest.fixture(scope="module")
def paper_prior(sim, tmp_path_factory) -> Path:
    """A real prior from a 2 s paper session on the simulator (verdict Insufficient)."""
    tmp = tmp_path_factory.mktemp("prior")
    r = subprocess.run(
        [
            PY,
            str(REPO / "cli.py"),
            "paper",
            "--asset",
            "HYPE",
            "--duration",
            "2",
            "--quiet",
            "--base-url",
            sim.base_url,
            "--checkpoint-dir",
            str(tmp / "ck"),
            "--out",
            str(tmp / "paper"),
        ],
        cwd=tmp,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    return prior_path(tmp / "ck", "HYPE")


def _prior(src: Path, dest: Path, verdict: str, age_s: float = 60.0) -> Path:
    """``src`` re-stamped with ``verdict``, ``age_s`` old, saved at ``dest``."""
    p = load_prior(src)
    stamp = attrs.evolve(p.stamp, verdict=verdict, seed_verdict=verdict)
    created = time.time_ns() - int(age_s * 1e9)
    return save_prior(attrs.evolve(p, stamp=stamp, created_ns=created), dest)


def _decisions(journal: Path) -> list[str]:
    return [a for topic, a, _, _ in control(journal) if topic == "run"]


def _live(tmp: Path) -> Path:
    return tmp / "live"


def test_a_fresh_ready_prior_goes_live_with_full_confidence(sim, tmp_path, paper_prior):
    acct = make_account(sim, "ready")
    _prior(paper_prior, prior_path(tmp_path / "ck", "HYPE"), "Ready")
    cfg = write_config(tmp_path, BASE_CONFIG)
    r = run(sim, tmp_path, acct, "--config", str(cfg), "--duration", "2", "--out", "live")
    assert r.returncode == 0, r.stderr
    assert "run: prior_ready:" in r.stdout and "run: live:" in r.stdout
    j = _live(tmp_path)
    assert _decisions(j) == ["prior_ready", "live"]
    man = read_manifest(j)
    assert man.mode == "live" and man.config["risk"]["readiness"] == "ready"
    assert man.prior["verdict"] == "Ready"  # warm-started from it, a copy kept
    assert table(j, "order_commands").num_rows > 0  # it quoted
    assert not (tmp_path / "live-calibration").exists()
    verify(j)


def test_a_fresh_marginal_prior_goes_live_with_defensive_multipliers(sim, tmp_path, paper_prior):
    acct = make_account(sim, "marginal")
    _prior(paper_prior, prior_path(tmp_path / "ck", "HYPE"), "Marginal")
    r = run(sim, tmp_path, acct, "--duration", "1.5", "--out", "live")
    assert r.returncode == 0, r.stderr
    j = _live(tmp_path)
    assert _decisions(j) == ["prior_marginal", "live"]
    assert read_manifest(j).config["risk"]["readiness"] == "marginal"
    risk = table(j, "risk")
    rows = list(
        zip(risk.column("rule").to_pylist(), risk.column("state").to_pylist(), strict=False)
    )
    assert ("readiness", "widened") in rows


def test_a_stale_prior_auto_papers_then_passes_and_goes_live(sim, tmp_path, paper_prior):
    acct = make_account(sim, "stale")
    _prior(paper_prior, prior_path(tmp_path / "ck", "HYPE"), "Ready", age_s=5 * 3600)
    cfg = write_config(tmp_path, BASE_CONFIG + PASSING)
    r = run(
        sim,
        tmp_path,
        acct,
        "--config",
        str(cfg),
        "--calibration-duration",
        "2",
        "--duration",
        "1.5",
        "--out",
        "live",
    )
    assert r.returncode == 0, r.stderr
    assert "run: prior_stale:" in r.stdout and "5.0 h old" in r.stdout
    j, cal = _live(tmp_path), tmp_path / "live-calibration"
    assert _decisions(j) == ["prior_stale", "auto_paper", "paper_passed", "live"]
    assert read_manifest(cal).mode == "paper"
    # the calibration journal keeps its own verdict and decision, and replays
    assert [a for t, a, _, _ in control(cal) if t == "run"] == ["paper_passed"]
    assert 1.5 <= read_manifest(cal).stats["summary"]["duration_s"] <= 4.0  # --calibration-duration
    # the new prior was stamped and written, and live started from it
    prior = load_prior(prior_path(tmp_path / "ck", "HYPE"))
    assert prior.stamp.verdict == "Marginal" and prior.age_s(time.time_ns()) < 60
    assert read_manifest(j).config["risk"]["readiness"] == "marginal"
    verify(cal)
    verify(j)


def test_insufficient_auto_papers_and_a_failing_verdict_stops_with_the_diagnostic(
    sim, tmp_path, paper_prior
):
    acct = make_account(sim, "insufficient-fails")
    _prior(paper_prior, prior_path(tmp_path / "ck", "HYPE"), "Insufficient")
    r = run(sim, tmp_path, acct, "--calibration-duration", "1.5", "--out", "live")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "run: prior_insufficient:" in r.stdout and "run: paper_failed:" in r.stdout
    err = r.stderr.strip().splitlines()
    assert any(line.startswith("  lacking: ") for line in err), err
    assert err[-1].startswith("error: ") and "live trading refused" in err[-1]
    assert not _live(tmp_path).exists()  # live never started
    cal = tmp_path / "live-calibration"
    assert [a for t, a, _, _ in control(cal) if t == "run"] == ["paper_failed"]
    verify(cal)


def test_no_auto_paper_refuses_a_missing_prior_and_writes_nothing(sim, tmp_path):
    acct = make_account(sim, "no-auto-paper")
    r = run(sim, tmp_path, acct, "--no-auto-paper", "--out", "live")
    assert r.returncode == 1
    assert "run: prior_missing:" in r.stdout and "run: refused:" in r.stdout
    assert "--no-auto-paper" in r.stderr.splitlines()[-1]
    assert not _live(tmp_path).exists() and not (tmp_path / "live-calibration").exists()
    assert sim.open_orders(acct.address) == []


def test_skip_calibration_trades_an_insufficient_prior_defensively(sim, tmp_path, paper_prior):
    acct = make_account(sim, "skip")
    _prior(paper_prior, prior_path(tmp_path / "ck", "HYPE"), "Insufficient", age_s=9 * 3600)
    r = run(sim, tmp_path, acct, "--skip-calibration", "--duration", "1", "--out", "live")
    assert r.returncode == 0, r.stderr
    j = _live(tmp_path)
    assert _decisions(j) == ["skip_calibration", "live"]
    assert read_manifest(j).config["risk"]["readiness"] == "marginal"
    assert read_manifest(j).prior is not None


def test_force_is_a_cold_start_without_any_prior(sim, tmp_path, paper_prior):
    acct = make_account(sim, "force")
    _prior(paper_prior, prior_path(tmp_path / "ck", "HYPE"), "Ready")
    r = run(sim, tmp_path, acct, "--force", "--duration", "1", "--out", "live")
    assert r.returncode == 0, r.stderr
    j = _live(tmp_path)
    assert _decisions(j) == ["force", "live"]
    assert read_manifest(j).prior is None  # not even a Ready prior is loaded


def test_paper_checkpoint_names_the_prior(sim, tmp_path, paper_prior):
    acct = make_account(sim, "paper-checkpoint")
    elsewhere = _prior(paper_prior, tmp_path / "elsewhere" / "prior.json", "Ready")
    r = run(
        sim,
        tmp_path,
        acct,
        "--paper-checkpoint",
        str(elsewhere.parent),
        "--duration",
        "1",
        "--out",
        "live",
    )
    assert r.returncode == 0, r.stderr
    assert str(elsewhere) in r.stdout
    assert read_manifest(_live(tmp_path)).prior["from"] == str(elsewhere.resolve())


def test_the_decisions_are_in_the_manifest_too(sim, tmp_path, paper_prior):
    acct = make_account(sim, "manifest")
    r = run(sim, tmp_path, acct, "--force", "--duration", "0.5", "--out", "live")
    assert r.returncode == 0, r.stderr
    run_record = read_manifest(_live(tmp_path)).source["run"]
    assert [s[0] for s in run_record["steps"]] == ["force", "live"]
    json.dumps(run_record)  # plain data


@pytest.mark.parametrize(
    "gate, kw",
    [
        (None, {"force": True}),
        (Gate("missing", Path("ck/prior.json"), "no prior"), {"skip_calibration": True}),
        (Gate("insufficient", Path("ck/prior.json"), "thin"), {"skip_calibration": True}),
    ],
)
def test_a_cold_start_trades_no_less_defensively_than_an_insufficient_prior(gate, kw):
    # It used to go live with full confidence where an Insufficient prior got Marginal.
    p = plan(gate, **kw)
    assert p.next == "live" and p.readiness == "marginal"
    assert "marginal" in p.steps[-1][1]


def test_a_dry_run_reports_the_decision_run_would_take_with_these_flags(sim, tmp_path):
    acct = make_account(sim, "dry")
    plain = run(sim, tmp_path, acct, "--dry-run")
    assert plain.returncode == 0, plain.stderr
    assert "[ok] calibration: no prior at" in plain.stdout
    assert "run would auto-paper first" in plain.stdout
    # --force skips the gate: it said "auto-paper first" all the same
    forced = run(sim, tmp_path, acct, "--dry-run", "--force")
    assert forced.returncode == 0, forced.stderr
    assert "run would go live (readiness marginal)" in forced.stdout
    refused = run(sim, tmp_path, acct, "--dry-run", "--no-auto-paper")
    assert refused.returncode == 1
    assert "[FAIL] calibration:" in refused.stdout and "run would refuse" in refused.stdout
    assert not sim.open_orders(acct.address)  # a dry run places nothing


def test_a_calibration_journal_in_the_way_is_refused_before_anything_connects(sim, tmp_path):
    acct = make_account(sim, "cal-taken")
    taken = tmp_path / "live-calibration"
    taken.mkdir()
    (taken / "session.json").write_text("{}")  # a refused calibration run's, say
    r = run(sim, tmp_path, acct, "--duration", "1", "--out", "live")
    assert r.returncode == 2, r.stderr
    assert (
        "--out live: its calibration journal goes to live-calibration, which already holds "
        "a journal" in r.stderr
    )
    assert not (tmp_path / "live").exists()
    assert not sim.open_orders(acct.address)


def test_signing_for_the_wrong_network_is_named_as_such(sim, tmp_path):
    # The sim verifies testnet signatures: a mainnet one recovers another address, and
    # the first signed action (the leverage) was reported as a leverage problem.
    acct = make_account(sim, "wrong-net")
    r = run(sim, tmp_path, acct, "--force", "--duration", "2", "--network", "mainnet")
    assert r.returncode == 1
    assert "the venue does not know the signer" in r.stderr
    assert "made for mainnet" in r.stderr and "fix --network" in r.stderr
    assert "--leverage" not in r.stderr
    assert not sim.open_orders(acct.address)


def test_an_unfunded_account_is_named_as_such_not_as_a_leverage_problem(sim, tmp_path):
    acct = make_account(sim, "unfunded", usdc=0.0)
    sim.deposit(acct.address, 0.0)  # known to the venue, with nothing in it
    r = run(sim, tmp_path, acct, "--force", "--duration", "2")
    assert r.returncode == 1
    assert "the account holds no funds on this venue" in r.stderr
    assert "choose a leverage" not in r.stderr


def test_risk_and_connection_changes_are_session_log_lines(sim, tmp_path):
    # A kill switch or a stale feed left no line in session.log, with --quiet or not.
    acct = make_account(sim, "log-lines")
    r = run(sim, tmp_path, acct, "--force", "--duration", "1.5", "--quiet", "--out", "live")
    assert r.returncode == 0, r.stderr
    log = (tmp_path / "live" / "session.log").read_text()
    assert "risk readiness widened: Marginal calibration" in log
    assert "connection ws connected" in log
    assert "risk shutdown tripped" in log and "warning: risk shutdown" not in r.stderr


def test_an_account_too_small_for_any_order_says_so(sim, tmp_path):
    # 5 USDC: "live: quoting HYPE", then nothing sent and nothing said.
    acct = make_account(sim, "tiny", usdc=5.0)
    r = run(sim, tmp_path, acct, "--force", "--duration", "12", "--quiet", "--out", "live")
    assert r.returncode == 0, r.stderr
    assert table(tmp_path / "live", "order_commands").num_rows == 0
    assert "warning: no order sent in 10 s of quoting: with equity 5.00 USD" in r.stderr
