"""``python -m benchmarks.peer``: its argument errors, the missing peer venv, and the table
and JSON lines on made-up figures (the benchmark itself needs the peer's venv: not a test)."""

from __future__ import annotations

import pytest

from benchmarks import peer


def _run(mh: float, seconds: float = 10.0, rss: float = 250.0) -> dict:
    return {
        "seconds": seconds,
        "process_wall_s": seconds,
        "peak_rss_mb": rss,
        "hours": mh * seconds,
        "market_hours_per_s": mh,
    }


OURS = {
    "import": [_run(12.0), _run(9.0, rss=320.0)],
    "replay": [_run(150.0, 0.16), _run(90.0, 0.27)],
    "backtest": [_run(15.0), _run(17.5)],
}
PEER = {"convert": [0.8, 1.0], "replay_60s": [44.0, 40.0], "glft_mm": [9.0, 10.0]}


def test_table_gives_best_spread_ratio_and_verdict_per_target():
    table = peer.rows(OURS, PEER)
    by = {r.step: r for r in table}
    assert by["import"].ours_best == 12.0 and by["import"].ours_spread == (9.0, 12.0)
    assert by["import"].ours_rss_mb == 320.0
    assert by["import"].ratio == pytest.approx(12.0) and by["import"].passed is True  # >= 10x
    assert by["replay"].passed is True  # absolute: 150 >= 100 mh/s, whatever the peer does
    assert by["backtest"].ratio == pytest.approx(1.75) and by["backtest"].passed is False

    text = peer.format_table(table).splitlines()
    assert len(text) == 4 and text[0].split()[:2] == ["step", "ours"]
    assert "12.00 (9.00-12.00)" in text[1] and "12.00x" in text[1] and text[1].endswith("PASS")
    assert "1.75x" in text[3] and ">= 2x peer" in text[3] and text[3].endswith("FAIL")
    # columns line up: every row starts its peer column at the same place
    assert len({line.index(p) for line, p in zip(text[1:], PEER, strict=True)}) == 1


def test_without_the_peer_ratios_are_not_judged_but_replay_still_is():
    table = peer.rows(OURS, {})
    verdicts = {r.step: r.passed for r in table}
    assert verdicts == {"import": None, "replay": True, "backtest": None}
    lines = peer.format_table(table).splitlines()
    assert lines[1].endswith("n/a") and lines[2].endswith("PASS")


def test_json_lines_one_per_step_and_the_peer():
    recs = peer.json_lines(peer.rows(OURS, PEER), OURS, PEER, peer.CACHE / "c.gz")
    assert [r["name"] for r in recs] == [
        "peer_import",
        "peer_replay",
        "peer_backtest",
        "peer_hftbacktest",
    ]
    assert recs[2]["ratio"] == 1.75 and recs[2]["pass"] is False and recs[2]["seconds"] == [10, 10]
    assert recs[3]["glft_mm_market_hours_per_s"] == [9.0, 10.0]


def test_peer_rates_gather_every_run_of_the_peer_script():
    def raw(convert_s: float, glft_s: float) -> dict:
        per_rep = [{"wall_s": glft_s}]
        return {
            "market_hours": 24.0,
            "convert_wall_s_all": [convert_s],
            "runs": {"glft_mm": {"per_rep": per_rep}},
        }

    rates = peer.peer_rates([raw(24.0, 2.0), raw(30.0, 2.4)])
    assert rates == {"convert": [1.0, 0.8], "glft_mm": [12.0, 10.0]}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--capture", "x.gz", "--hours", "6"], "exclude each other"),
        (["--capture", "/nonexistent/x.gz"], "--capture /nonexistent/x.gz: no such file"),
        (["--hours", "0"], "--hours 0.0: must be > 0"),
        (["--reps", "0"], "--reps 0: must be >= 1"),
    ],
)
def test_argument_errors_name_the_flag(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.gz").write_bytes(b"")
    with pytest.raises(SystemExit) as exc:
        peer.parse_args(argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_defaults_are_the_24h_seed_1_capture():
    a = peer.parse_args([])
    assert (a.hours, a.seed, a.reps, a.capture) == (24.0, 1, 3, None)


def test_missing_peer_venv_prints_the_command_and_exits_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(peer, "PEER_VENV", tmp_path / "peer-venv")
    assert peer.main(["--capture", __file__]) == 2
    err = capsys.readouterr().err
    assert "python3 -m venv" in err and "pip install hftbacktest==2.4.4 numpy numba" in err
    assert str(tmp_path / "peer-venv") in err and "--setup-peer" in err
    assert peer.main(["--capture", __file__, "--peer-python", str(tmp_path / "py")]) == 2
    assert f"--peer-python {tmp_path / 'py'}: no such file" in capsys.readouterr().err
