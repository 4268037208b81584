"""``market-maker report``: the HTML page and the data behind every plot, on the bundled
sample's backtest, on empty, short and live journals, and through the command line."""

from __future__ import annotations

import base64
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from framework.calibration.readiness import assess
from framework.estimators.base import MIN_OBS
from framework.journal import JournalReader
from framework.journal.duck import connect
from framework.report import build_report
from framework.report import queries as q
from framework.report.plots import PLOTS
from tests.report import journals

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "recordings" / "sample-hype"
PLOT_NAMES = ("market", "inventory", "pnl", "estimators", "markouts", "fill_rate", "regime")


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """The sample's backtest (aggressive profile: it fills) and its report, built once."""
    from framework.environments.backtest import run_backtest

    out = tmp_path_factory.mktemp("report") / "bt"
    bt = run_backtest(SAMPLE, out=out, progress=False, spread_profile="aggressive")
    return bt, build_report(out)


def _images(page: str) -> dict[str, bytes]:
    found = re.findall(
        r'<img data-plot="(\w+)" alt="[^"]*" src="data:image/png;base64,([^"]+)"', page
    )
    return {name: base64.b64decode(b64) for name, b64 in found}


# -- the sample's backtest ----------------------------------------------------------------
def test_the_report_is_one_self_contained_html_file(sample):
    _, r = sample
    assert r.out == r.out.parent / "report.html" and r.out.is_file()
    page = r.out.read_text()
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    # nothing is fetched when the page opens
    for external in ("<script", "<link", 'src="http', "url(", "@import"):
        assert external not in page, external
    assert not re.findall(r'src="(?!data:image/png;base64,)', page)
    images = _images(page)
    assert sorted(images) == sorted(PLOT_NAMES)
    for name, png in images.items():
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000, name
    assert len(PLOTS) == len(PLOT_NAMES)


def test_the_page_shows_the_readiness_table_verdict_and_lacking_lines(sample):
    _, r = sample
    page = r.out.read_text()
    readiness = assess(r.out.parent)
    assert f'class="verdict {readiness.verdict}"' in page
    for e in readiness.estimators:
        assert f"<td>{e.name}</td>" in page
    assert readiness.lacking()
    for line in readiness.lacking():
        assert line.replace("'", "&#x27;") in page
    assert r.data.readiness == readiness


def test_every_plot_has_data(sample):
    bt, r = sample
    d, s = r.data, bt.summary
    for p in r.plots:
        assert p.figure is not None and p.note is None, p.name
        drawn = [
            len(line.get_xdata())
            for ax in p.figure.axes
            for line in ax.get_lines()
            if len(line.get_xdata()) > 0
        ] + [len(c.get_offsets()) for ax in p.figure.axes for c in ax.collections]
        assert sum(drawn) > 0, p.name
    # market: the mid through the whole session, the quotes, every fill
    assert (
        len(d.mid) > 1000 and d.mid.t[0] - d.session.t0 < 5e9 and d.session.t1 - d.mid.t[-1] < 5e9
    )
    assert 30 < d.mid.v.min() < d.mid.v.max() < 50
    assert len(d.bid) > 100 and len(d.ask) > 100
    assert np.nanmax(d.bid.v) < np.nanmax(d.ask.v)
    assert len(d.fills) == s["fills"] > 10
    # inventory: the position after each fill ends where the session's summary says
    assert d.fills.position_after[-1] == pytest.approx(s["final_inventory"], abs=1e-9)
    # markouts: 0, 1, 5, 30 s and the longer horizons the fills matured at
    for h in (0, 1, 5, 30, 60, 600):
        assert d.markouts.at(h)[0] > 0, h
    assert d.markouts.per_fill.shape == (len(d.fills), len(d.markouts.h_s))
    # fill rate: resting time in several depth buckets, fills in some
    assert (d.fill_rate.exposure_s > 0).sum() >= 4 and d.fill_rate.fills.sum() > 0
    # estimators: every one journaled, against the documented minimum
    for tr in d.estimators:
        assert len(tr) > 0, tr.name
        assert tr.min_obs == MIN_OBS[tr.name]
        assert (np.diff(tr.t) >= 0).all()
    conv = {tr.name: tr.first_converged for tr in d.estimators}
    assert conv["volatility"] is not None and conv["kappa"] is not None
    # regime: a state per 30 s bucket, fitted for most of the session
    assert len(d.regime) > 200 and (~np.isnan(d.regime.v)).sum() > 100
    assert set(d.regime.v[~np.isnan(d.regime.v)]) <= {0.0, 1.0, 2.0}
    assert d.regime_labels == ("calm", "volatile", "trending")
    # the synthetic market's true regime path, from the recording's manifest
    assert len(d.session.truth_regime) > 3


def test_the_pnl_parts_add_up_to_the_sessions_net_pnl(sample):
    bt, r = sample
    p = r.data.pnl
    net = bt.summary["net_pnl_usd"]
    assert p.summary_net_usd == net
    total = p.spread_usd + p.inventory_usd + p.fees_usd + p.funding_usd
    assert total == pytest.approx(net, abs=1e-9)
    assert p.net_usd == pytest.approx(net, abs=1e-9) and p.adds_up()
    assert p.fees_usd == pytest.approx(-bt.summary["fees_usd"], abs=1e-12)
    assert p.funding_usd == pytest.approx(-bt.summary["funding_usd"], abs=1e-12)
    # the series over time ends on the same totals
    for k, series in r.data.pnl_parts.items():
        assert series[-1] == pytest.approx(getattr(p, k), abs=1e-9), k
    assert r.data.pnl_t[-1] == r.data.session.t1
    page = r.out.read_text()
    assert f"{p.residual_usd:+.2e}" in page


def test_the_5s_markout_is_the_readiness_gross_edge(sample):
    _, r = sample
    n, mean = r.data.markouts.at(5)
    assert n == r.data.readiness.edge_fills
    assert mean == pytest.approx(r.data.readiness.edge_bps, abs=1e-9)


def test_the_fill_rate_is_what_the_fill_rate_estimator_counted(sample):
    """The SQL splits resting time into depth buckets as the estimator does: replaying the
    journal gives the same first fills and exposure per bucket."""
    from framework.environments.replay import replay

    _, r = sample
    est = replay(r.out.parent).engine.component("fill_rate")
    fr = r.data.fill_rate
    assert list(fr.fills) == list(est.fills)
    assert np.allclose(fr.exposure_s, est.exposure_s, rtol=1e-9, atol=1e-6)


def test_downsampling_keeps_every_extreme_within_its_bound(sample):
    _, r = sample
    con = connect(r.out.parent)
    q.install_views(con)
    full = con.execute("SELECT seq, mid FROM mids ORDER BY seq").fetchall()
    s = r.data.session
    m4 = q.run(
        con,
        "series_m4",
        fmt={"source": "SELECT seq, recv_ts, mid AS v FROM mids"},
        t0=s.t0,
        t1=s.t1,
        buckets=50,
    )
    assert len(m4["seq"]) <= 200 < len(full)
    assert m4["seq"][0] == full[0][0] and m4["seq"][-1] == full[-1][0]
    assert m4["v"].min() == min(m for _, m in full) and m4["v"].max() == max(m for _, m in full)
    assert (np.diff(m4["seq"]) > 0).all()


# -- empty, short and live journals --------------------------------------------------------
def test_an_empty_session_gets_a_note_in_place_of_every_plot(tmp_path):
    root = journals.empty(tmp_path / "j")
    r = build_report(root)
    page = r.out.read_text()
    assert not _images(page)
    for p in r.plots:
        assert p.figure is None and p.note, p.name
        assert f'data-note="{p.name}"' in page
    assert "an empty session" in page and "Insufficient" in page
    assert r.data.pnl.net_usd == 0 and r.data.pnl.adds_up()


def test_a_three_second_session_has_its_pnl_by_hand(tmp_path):
    root = journals.short_paper(tmp_path / "j")
    r = build_report(root)
    p = r.data.pnl
    assert p.spread_usd == pytest.approx(1.0 * (9.99 - 9.985))
    assert p.mark_px == pytest.approx(9.98)
    assert p.inventory_usd == pytest.approx(1.0 * (9.98 - 9.99))
    assert p.fees_usd == pytest.approx(-0.0015 * 9.985)
    assert p.net_usd == pytest.approx(-9.985 + 9.98 - 0.0015 * 9.985)
    drawn = {pl.name for pl in r.plots if pl.figure is not None}
    assert drawn == {"market", "inventory", "pnl", "markouts", "fill_rate"}
    notes = {pl.name: pl.note for pl in r.plots if pl.figure is None}
    assert "estimator" in notes["estimators"] and "regime" in notes["regime"]
    assert sorted(_images(r.out.read_text())) == sorted(drawn)
    # the order rested in two depth buckets as the mid moved; its fill counts in the last
    fr = r.data.fill_rate
    assert fr.fills.sum() == 1 and (fr.exposure_s > 0).sum() == 2
    assert fr.exposure_s.sum() == pytest.approx(1.9)  # rested 0.1 s -> filled at 2 s


def test_a_live_journal_reads_fills_and_order_updates(tmp_path):
    root = journals.live(tmp_path / "j", minutes=10)
    reader = JournalReader(root)
    assert reader.count("sim_fills") == 0 and reader.count("fills") == 14
    r = build_report(root)
    d = r.data
    assert d.session.live and len(d.fills) == 14
    assert d.fills.position_after[-1] == pytest.approx(float(np.sum(d.fills.side * d.fills.sz)))
    assert d.pnl.adds_up() and not d.pnl.funding_journaled
    assert "no funding rows" in r.out.read_text()
    fr = d.fill_rate
    assert fr.fills.sum() == 14 and fr.orders.sum() >= 20
    # an order fills 10 s after resting, a canceled one rests 20 s: 14 x 10 + 6 x 20 s
    assert fr.exposure_s.sum() == pytest.approx(14 * 10 + 6 * 20, abs=1e-6)
    assert d.markouts.at(5)[0] == 14 and not math.isnan(d.markouts.at(30)[1])
    assert {p.name for p in r.plots if p.figure is not None} >= {
        "market",
        "inventory",
        "pnl",
        "markouts",
        "fill_rate",
    }


# -- the command line -----------------------------------------------------------------------
def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(REPO / "cli.py"), *args], capture_output=True, text=True, cwd=cwd
    )


def test_report_command_writes_the_file_and_names_it(tmp_path):
    root = journals.short_paper(tmp_path / "j")
    out = tmp_path / "elsewhere" / "r.html"
    done = _cli("report", str(root), "--out", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"report: {out} (") and out.is_file()
    assert not (root / "report.html").exists()  # the default (DIR/report.html) is not used


@pytest.mark.parametrize(
    "args, words",
    [
        (["{tmp}/missing"], ["error:", "missing: no such journal directory"]),
        (["{root}", "--out", "{tmp}"], ["error: --out", "is a directory", "report.html"]),
        (["{root}", "--config", "{tmp}/none.toml"], ["error:", "none.toml"]),
    ],
)
def test_report_command_refuses_unusable_input_with_exit_2(tmp_path, args, words):
    root = journals.empty(tmp_path / "j")
    argv = [a.format(tmp=tmp_path, root=root) for a in args]
    done = _cli("report", *argv, cwd=tmp_path)
    assert done.returncode == 2, done.stdout
    assert len(done.stderr.strip().splitlines()) == 1
    for w in words:
        assert w in done.stderr


def test_without_matplotlib_the_report_says_what_to_install(tmp_path, monkeypatch, capsys):
    from framework.report import report_command

    root = journals.empty(tmp_path / "j")
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails
    assert report_command(root) == 2
    err = capsys.readouterr().err
    assert (
        err.startswith("error: the report draws its plots with matplotlib") and "pip install" in err
    )
    assert not (root / "report.html").exists()
