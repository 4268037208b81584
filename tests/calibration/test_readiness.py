"""PriorReadiness: the verdict SQL on crafted journals at and around every threshold,
checked against an independent Python computation, on the bundled sample, and through
``market-maker readiness``."""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

import pytest

from framework.calibration.readiness import ESTIMATORS, assess
from framework.config import CalibrationConfig
from framework.events.schema import INPUT_KINDS, Kind
from framework.journal import JournalReader, JournalWriter, Manifest
from tests.stubs import run_cli

REPO = Path(__file__).resolve().parents[2]
T0 = 1_767_225_600_000_000_000
SEC = 1_000_000_000
MIN_OBS = {
    "volatility": 200,
    "kappa": 50,
    "adverse_selection": 100,
    "regime": 200,
    "fill_rate": 200,
}
PARAM = {
    "volatility": "sigma",
    "kappa": "k",
    "adverse_selection": "as_5s",
    "regime": "state",
    "fill_rate": "k_f",
}


class Crafted:
    """A paper journal written row by row: clock ticks, books, fills, estimates."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.w = JournalWriter(root, Manifest(mode="paper", asset="HYPE"))
        self.seq = 0

    def _next(self, output: bool) -> int:
        self.seq = self.seq + 1 if output else (self.seq // 1_000_000 + 1) * 1_000_000
        return self.seq

    def clock(self, t: int) -> None:
        self.w.append(Kind.CLOCK, (self._next(False), t, t, "test"))

    def book(self, t: int, bid: float, ask: float) -> None:
        row = ("HYPE", [bid], [1.0], [1], [ask], [1.0], [1])
        self.w.append(Kind.BOOK, (self._next(False), t, t, *row))

    def fill(self, t: int, side: int, px: float) -> None:
        row = ("0x1", "HYPE", side, px, 1.0, 0.0, "maker", "trade_at", 0.0, self.seq)
        self.w.append(Kind.SIM_FILLS, (self._next(True), t, t, *row))

    def estimate(self, t: int, name: str, n: int, converged: bool, param: str = "") -> None:
        row = (name, param or PARAM.get(name, "fraction"), 1.0, n, None, converged)
        self.w.append(Kind.ESTIMATES, (self._next(True), t, t, *row))

    def close(self) -> Path:
        self.w.close()
        return self.root


def craft(
    root: Path,
    *,
    duration_s: float = 1800.0,
    counts: dict[str, int] | None = None,
    converged: dict[str, bool] | None = None,
    kelly: int = 20,
    markouts: list[float] | None = None,
) -> Path:
    """A session of ``duration_s`` with the given estimator rows (by default all five
    at their minimum and converged) and 20 fills whose 5 s markouts are ``markouts``."""
    counts = {n: MIN_OBS[n] for n in ESTIMATORS} | (counts or {})
    converged = {n: counts[n] >= MIN_OBS[n] for n in ESTIMATORS} | (converged or {})
    j = Crafted(root)
    j.clock(T0)
    j.book(T0, 99.99, 100.01)
    marks = markouts if markouts is not None else [1.0] * 20
    t = T0 + SEC
    for k, mo in enumerate(marks):
        side = 1 if k % 2 == 0 else -1
        j.book(t, 99.99, 100.01)
        j.fill(t, side, 100.0)
        # the mid as of t + 5 s makes the markout mo bps: side * (m - 100) / 100 * 1e4
        j.book(t + 5 * SEC - 1, 99.99 + side * mo / 100, 100.01 + side * mo / 100)
        t += 20 * SEC  # blocks of one horizon hold one fill each
    t = max(t, T0 + 2 * SEC)
    for name in ESTIMATORS:
        j.estimate(t, name, counts[name] - 1, False)  # an older row: the latest counts
        j.estimate(t, name, counts[name], converged[name])
    j.estimate(t, "kelly", kelly, True, "fraction")
    j.clock(T0 + round(duration_s * SEC))
    return j.close()


def python_readiness(root: Path, cfg: CalibrationConfig) -> dict:
    """The verdict computed independently, in plain Python over the journal's rows."""
    r = JournalReader(root)
    est = sorted(r.table(Kind.ESTIMATES).to_pylist(), key=lambda x: x["seq"])
    latest: dict[str, dict] = {}
    kelly = 0
    for row in est:
        name = row["estimator"]
        if name in PARAM and row["param"] == PARAM[name]:
            latest[name] = row
        if name == "kelly" and row["param"] == "fraction":
            kelly = row["n_obs"]
    mins = {n: getattr(cfg, f"{n}_min_obs") for n in ESTIMATORS}
    conv = {
        n: n in latest and latest[n]["converged"] and latest[n]["n_obs"] >= mins[n]
        for n in ESTIMATORS
    }
    times = [t for kind in INPUT_KINDS for t in r.table(kind).column("recv_ts").to_pylist()]
    duration = (max(times) - min(times)) / 1e9
    ok = duration >= cfg.min_session_s
    n_conv = sum(conv.values())
    if ok and n_conv == 5 and kelly >= cfg.min_kelly_fills:
        seed = "Ready"
    elif ok and n_conv >= cfg.marginal_min_converged:
        seed = "Marginal"
    else:
        seed = "Insufficient"
    # edge: markout at h of each matured fill, cluster-robust 95 % interval
    h = round(cfg.edge_horizon_s * SEC)
    books = sorted(
        (b["recv_ts"], (b["bid_px"][0] + b["ask_px"][0]) / 2)
        for b in r.table(Kind.BOOK).to_pylist()
        if b["bid_px"] and b["ask_px"] and b["bid_px"][0] < b["ask_px"][0]
    )
    last = max(times)
    mos, blocks = [], {}
    for f in r.table(Kind.SIM_FILLS).to_pylist():
        due = f["recv_ts"] + h
        if due > last:
            continue
        mids = [m for t, m in books if t < due]
        mo = f["side"] * (mids[-1] - f["px"]) / f["px"] * 1e4
        mos.append(mo)
        blocks.setdefault(f["recv_ts"] // h, []).append(mo)
    mean = sum(mos) / len(mos) if mos else None
    hi = None
    if mos and len(blocks) >= 2:
        ss = sum(sum(x - mean for x in b) ** 2 for b in blocks.values())
        nb = len(blocks)
        tq = {19: 2.093}.get(nb - 1, 1.959964) if nb - 1 > 30 or nb - 1 == 19 else None
        if tq is not None:
            hi = mean + tq * math.sqrt(ss * nb / (nb - 1)) / len(mos)
    verdict = seed
    if seed == "Ready" and cfg.downgrade_negative_edge and hi is not None and hi < 0:
        verdict = "Marginal"
    return {
        "verdict": verdict,
        "seed": seed,
        "converged": n_conv,
        "kelly": kelly,
        "duration": duration,
        "edge": mean,
        "edge_hi": hi,
    }


def check(root: Path, cfg: CalibrationConfig | None = None) -> str:
    cfg = cfg or CalibrationConfig()
    sql = assess(root, cfg)
    py = python_readiness(root, cfg)
    assert sql.verdict == py["verdict"] and sql.seed_verdict == py["seed"]
    assert sql.converged == py["converged"] and sql.kelly_fills == py["kelly"]
    assert sql.duration_s == pytest.approx(py["duration"], abs=1e-9)
    if py["edge"] is not None:
        assert sql.edge_bps == pytest.approx(py["edge"], rel=1e-9)
    if py["edge_hi"] is not None:
        assert sql.edge_hi == pytest.approx(py["edge_hi"], rel=1e-9)
    return sql.verdict


# -- the thresholds -------------------------------------------------------------------------
def test_all_criteria_at_their_thresholds_is_ready(tmp_path):
    assert check(craft(tmp_path / "j")) == "Ready"


def test_a_session_of_29_59_is_not_30_minutes(tmp_path):
    assert check(craft(tmp_path / "a", duration_s=1799.0)) == "Insufficient"
    assert check(craft(tmp_path / "b", duration_s=1799.999)) == "Insufficient"
    assert check(craft(tmp_path / "c", duration_s=1800.0)) == "Ready"


@pytest.mark.parametrize("name", ESTIMATORS)
def test_one_observation_short_of_the_minimum_is_not_converged(tmp_path, name):
    short = craft(
        tmp_path / "short", counts={name: MIN_OBS[name] - 1}, converged={name: True}
    )  # a flag cannot beat the count
    r = assess(short)
    assert [e.converged for e in r.estimators if e.name == name] == [False]
    assert check(short) == "Marginal"  # 4 of 5
    assert check(craft(tmp_path / "at", counts={name: MIN_OBS[name]})) == "Ready"


def test_199_vs_200_volatility_observations(tmp_path):
    below = assess(craft(tmp_path / "a", counts={"volatility": 199}))
    at = assess(craft(tmp_path / "b", counts={"volatility": 200}))
    assert (below.estimators[0].n_obs, below.estimators[0].converged) == (199, False)
    assert (at.estimators[0].n_obs, at.estimators[0].converged) == (200, True)


def test_19_vs_20_kelly_fills(tmp_path):
    assert check(craft(tmp_path / "a", kelly=19)) == "Marginal"
    assert check(craft(tmp_path / "b", kelly=20)) == "Ready"


@pytest.mark.parametrize(
    "n_conv, want",
    [(5, "Ready"), (4, "Marginal"), (3, "Marginal"), (2, "Insufficient"), (0, "Insufficient")],
)
def test_converged_count(tmp_path, n_conv, want):
    flags = {n: i < n_conv for i, n in enumerate(ESTIMATORS)}
    assert check(craft(tmp_path / "j", converged=flags)) == want


def test_thresholds_are_query_parameters(tmp_path):
    j = craft(tmp_path / "j", duration_s=600.0, kelly=5)
    assert check(j) == "Insufficient"
    short = CalibrationConfig(min_session_s=600.0, min_kelly_fills=5)
    assert check(j, short) == "Ready"
    strict = CalibrationConfig(kappa_min_obs=51)  # stricter than the estimator's own
    assert check(craft(tmp_path / "k"), strict) == "Marginal"


def test_a_significantly_negative_edge_downgrades_ready_to_marginal(tmp_path):
    bad = craft(tmp_path / "bad", markouts=[-3.0 + 0.5 * (k % 3) for k in range(20)])
    r = assess(bad)
    assert r.seed_verdict == "Ready" and r.verdict == "Marginal"
    assert r.edge_hi is not None and r.edge_hi < 0
    assert check(bad) == "Marginal"
    assert any("downgraded" in line for line in r.lacking())
    off = CalibrationConfig(downgrade_negative_edge=False)
    assert check(bad, off) == "Ready"
    noisy = craft(tmp_path / "noisy", markouts=[-3.0 + 6.5 * (k % 2) for k in range(20)])
    assert check(noisy) == "Ready"  # negative on average but not significantly


def test_the_stamp_up_to_a_seq_ignores_everything_after_it(tmp_path):
    j = Crafted(tmp_path / "j")
    j.clock(T0)
    j.estimate(T0, "volatility", 150, False)
    cut = j.seq
    j.estimate(T0 + SEC, "volatility", 250, True)
    j.clock(T0 + 3600 * SEC)
    root = j.close()
    early, late = assess(root, up_to_seq=cut), assess(root)
    assert early.estimators[0].n_obs == 150 and early.duration_s == 0.0
    assert late.estimators[0].n_obs == 250 and late.duration_s == 3600.0
    assert early.up_to_seq == cut


# -- a real session --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sample_backtest(tmp_path_factory) -> Path:
    from framework.environments.backtest import run_backtest

    out = tmp_path_factory.mktemp("bt") / "j"
    run_backtest(
        REPO / "recordings" / "sample-hype", out=out, progress=False, spread_profile="aggressive"
    )
    return out


def test_the_sample_backtest_agrees_with_the_python_computation(sample_backtest):
    verdict = check(sample_backtest)
    r = assess(sample_backtest)
    assert r.duration_s > 7000 and r.edge_fills > 0
    assert verdict in ("Insufficient", "Marginal", "Ready")


def _cli(*args: str) -> subprocess.CompletedProcess:
    return run_cli(*args)


def test_readiness_command_prints_the_table_verdict_and_what_is_lacking(sample_backtest):
    done = _cli("readiness", str(sample_backtest))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for name in ESTIMATORS:
        assert name in out
    r = assess(sample_backtest)
    assert f"verdict: {r.verdict}" in out
    for line in r.lacking():
        assert line.split(";")[0] in " ".join(out.split())
    js = json.loads(_cli("readiness", str(sample_backtest), "--json").stdout)
    assert js["verdict"] == r.verdict and js["lacking"] == r.lacking()
    assert [e["name"] for e in js["estimators"]] == list(ESTIMATORS)


def test_lacking_lines_say_how_much_more_at_the_session_rate(tmp_path):
    root = craft(tmp_path / "j", duration_s=3600.0, counts={"adverse_selection": 42}, kelly=10)
    lines = assess(root).lacking()
    assert "adverse_selection: 42 of 100 samples; at this session's rate about 83 min more" in lines
    assert (
        "kelly: 10 of 20 fills with a measured markout; at this session's rate about "
        "60 min more" in lines
    )
    short = assess(craft(tmp_path / "s", duration_s=600.0)).lacking()
    assert short[0] == "session: 10:00 min of 30:00 min; 20:00 min more"


def test_require_makes_the_exit_code_usable_in_scripts(tmp_path):
    ready = craft(tmp_path / "r")
    marginal = craft(tmp_path / "m", kelly=3)
    assert _cli("readiness", str(ready), "--require", "ready").returncode == 0
    done = _cli("readiness", str(marginal), "--require", "ready")
    assert done.returncode == 1 and "does not meet --require ready" in done.stderr
    assert _cli("readiness", str(marginal), "--require", "marginal").returncode == 0
    bad = _cli("readiness", str(ready), "--require", "maybe")
    assert bad.returncode == 2 and "--require" in bad.stderr
    missing = _cli("readiness", str(tmp_path / "nope"))
    assert missing.returncode == 2 and "error:" in missing.stderr


def test_calibration_thresholds_come_from_the_config_file(tmp_path):
    root = craft(tmp_path / "j", duration_s=600.0)
    cfg = tmp_path / "c.toml"
    cfg.write_text("[calibration]\nmin_session_s = 600.0\n")
    assert _cli("readiness", str(root), "--config", str(cfg), "--require", "ready").returncode == 0
    cfg.write_text("[calibration]\nmin_sesion_s = 600.0\n")
    bad = _cli("readiness", str(root), "--config", str(cfg))
    assert bad.returncode == 2 and "min_session_s" in bad.stderr


def test_readiness_at_the_end_of_a_session_sees_the_estimators_as_they_ended(sample_backtest):
    """A checkpoint input at the session's end makes every estimator journal its rows, so
    the verdict reads the state the summary shows, not a publication minutes older."""
    r = assess(sample_backtest)
    summary = JournalReader(sample_backtest).manifest.stats["summary"]
    in_memory = {row["estimator"]: row["n_obs"] for row in summary["estimators"]}
    for e in r.estimators:
        assert e.n_obs == in_memory[e.name], e.name
    clock = JournalReader(sample_backtest).table(Kind.CLOCK).to_pylist()
    assert clock[-1]["source"] == "checkpoint"


def test_a_verdict_over_an_incomplete_journal_says_so(sample_backtest, tmp_path):
    # With the estimates part gone it printed "0 of 200 ... none yet", exit 0, silently.
    import shutil

    j = tmp_path / "j"
    shutil.copytree(sample_backtest, j)
    shutil.rmtree(j / "estimates")
    done = _cli("readiness", str(j))
    assert done.returncode == 0
    assert f"warning: {j} is incomplete:" in done.stderr and "estimates" in done.stderr
    clean = _cli("readiness", str(sample_backtest))
    assert "warning" not in clean.stderr
