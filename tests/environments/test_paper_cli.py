"""``market-maker paper`` as a user meets it: flags checked before any connection, the URL
named, a busy venue retried, silence reported, SIGTERM as clean as Ctrl+C."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from cli import app
from framework.environments import paper
from framework.environments.replay import replay_command
from framework.journal import JournalReader
from framework.journal.manifest import MANIFEST_NAME
from tests.conftest import REPO

SAMPLE = REPO / "recordings" / "sample-hype"


def _paper(*args: str):
    return CliRunner().invoke(app, ["paper", *args, "--quiet"])


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    """Sessions write their default out/ and checkpoints/ under the cwd: a temp dir."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="module")
def sim() -> Iterator[str]:
    """The bundled sample served at 20x: HYPE has data, BTC is listed but has none."""
    from framework.hyperliquid.simulator import SimConfig, SimulatorThread

    with SimulatorThread(SimConfig(port=0, recording=SAMPLE, speed=20.0)) as h:
        yield h.base_url
        httpx.post(h.base_url + "/admin/fault", json={"kind": "clear"})


def _fault(base_url: str, **spec) -> None:
    httpx.post(base_url + "/admin/fault", json=spec).raise_for_status()


# -- flags are checked before any connection ----------------------------------------------
@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A port that accepts connections, to see whether anything connected."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        s.setblocking(False)
        yield s


@pytest.mark.parametrize(
    "args, words",
    [
        (["--duration", "-5"], ["--duration -5: must be a number of seconds >= 0"]),
        (["--duration", "nan"], ["--duration nan: must be a number of seconds >= 0"]),
        (["--spread-profile", "tight"], ["--spread-profile 'tight': unknown profile"]),
        (["--asset", " "], ["--asset '': name a coin"]),
        (["--out", "{journal}"], ["already holds a journal; choose a new directory"]),
        (["--config", "{bad_config}"], ["risk.max_drawdown"]),
    ],
)
def test_a_bad_flag_is_refused_before_any_connection(listener, tmp_path, args, words):
    journal = tmp_path / "j"
    journal.mkdir()
    (journal / MANIFEST_NAME).write_text("{}")
    bad_config = tmp_path / "bad.toml"
    bad_config.write_text("[risk]\nmax_drawdown = 7\n")
    args = [a.format(journal=journal, bad_config=bad_config) for a in args]
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    asset = [] if "--asset" in args else ["--asset", "HYPE"]
    r = _paper(*asset, "--base-url", url, *args)
    assert r.exit_code == 2, r.output
    (line,) = r.stderr.strip().splitlines()
    assert line.startswith("error: ") and all(w in line for w in words), line
    with pytest.raises(BlockingIOError):
        listener.accept()  # nobody connected


def test_a_base_url_that_is_not_http_is_refused():
    r = _paper("--asset", "HYPE", "--base-url", "ftp://example.com")
    assert r.exit_code == 2
    (line,) = r.stderr.strip().splitlines()
    assert line.startswith("error: --base-url 'ftp://example.com': not an http(s) URL")


def test_an_unreachable_venue_is_named_by_its_url(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again below: nothing listens there
    url = f"http://127.0.0.1:{port}"
    r = _paper("--asset", "HYPE", "--base-url", url, "--out", str(tmp_path / "p"))
    assert r.exit_code == 1
    (line,) = r.stderr.strip().splitlines()
    assert line.startswith(f"error: --base-url {url}: POST {url}/info: cannot connect")
    assert "running there?" in line and not (tmp_path / "p").exists()


# -- the venue is busy at start: retried, bounded ------------------------------------------
@pytest.mark.simulator
def test_http_429_at_start_is_retried_with_backoff(sim, tmp_path):
    _fault(sim, kind="429", seconds=1.2)
    r = _paper(
        "--asset", "HYPE", "--base-url", sim, "--duration", "1", "--out", str(tmp_path / "p")
    )
    assert r.exit_code == 0, r.output
    warnings = r.stderr.strip().splitlines()
    assert warnings[0] == (
        f"warning: {sim}/info answered HTTP 429 (rate limited) while looking up HYPE; "
        "retrying in 0.5 s (attempt 2 of 8)"
    )
    assert JournalReader(tmp_path / "p").manifest.closed


@pytest.mark.simulator
def test_a_venue_still_busy_after_the_retries_is_a_clear_error(sim, tmp_path, monkeypatch):
    monkeypatch.setattr(paper, "RESOLVE_DELAYS_S", (0.05, 0.05))
    _fault(sim, kind="429", seconds=30)
    try:
        r = _paper("--asset", "HYPE", "--base-url", sim, "--out", str(tmp_path / "p"))
    finally:
        _fault(sim, kind="clear")
    assert r.exit_code == 1
    *warnings, line = r.stderr.strip().splitlines()
    assert len(warnings) == 2 and line == (
        f"error: --base-url {sim}: {sim}/info still answers HTTP 429 (rate limited) after 3 "
        "attempts over 0.1 s; the venue is busy or down: wait a minute and rerun"
    )
    assert not (tmp_path / "p").exists()


@pytest.mark.simulator
def test_http_5xx_at_start_is_retried(sim, capsys):
    n = {"503": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        if n["503"] < 2:
            n["503"] += 1
            return httpx.Response(503, text="busy")
        real = httpx.post(str(request.url), content=request.content)
        return httpx.Response(real.status_code, content=real.content)

    coin, szd = asyncio.run(
        paper._resolve(
            sim, "HYPE", "", delays=(0.01, 0.01, 0.01), transport=httpx.MockTransport(handler)
        )
    )
    assert (coin, szd) == ("HYPE", 2)
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"warning: {sim}/info answered HTTP 503 while looking up HYPE; retrying in 0.01 s "
        f"(attempt {k} of 4)"
        for k in (2, 3)
    ]


@pytest.mark.simulator
def test_an_asset_the_venue_does_not_list_is_a_usage_error(sim):
    r = _paper("--asset", "NOPE", "--base-url", sim)
    assert r.exit_code == 2
    (line,) = r.stderr.strip().splitlines()
    assert line.startswith("error: --asset NOPE: coin 'NOPE' not found") and sim in line


# -- no market data: said within 10 s, repeated while it lasts ------------------------------
@pytest.mark.simulator
def test_no_market_data_is_said_within_10_s(sim, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = tmp_path / "mm.toml"
    cfg.write_text('[strategy]\ncoin = "HYPE"\n')
    r = _paper("--asset", "BTC", "--base-url", sim, "--duration", "6", "--config", str(cfg))
    assert r.exit_code == 0, r.output
    coin_warning, *silence = r.stderr.strip().splitlines()
    assert coin_warning == (
        f"warning: --config {cfg}: [strategy] coin = 'HYPE' is ignored: --asset sets the coin "
        "to 'BTC'; remove the key from the config"
    )
    ws = sim.replace("http://", "ws://") + "/ws"
    assert silence == [
        f"warning: no market data for BTC has arrived from {ws} in 5 s; is BTC trading there "
        "(a sim-exchange serves only its recording's coins)?"
    ]
    # the default journal: a new directory under out/, never recordings/
    (out,) = (tmp_path / "out").iterdir()
    assert out.name.startswith("paper-BTC-")
    assert f"journal: out/{out.name}" in r.stdout.splitlines()
    # and its prior, at the end of the session, under the default checkpoint directory
    assert (tmp_path / "checkpoints" / "paper" / "BTC" / "prior.json").is_file()
    assert JournalReader(out).manifest.closed and not (tmp_path / "recordings").exists()


@pytest.mark.simulator
def test_the_silence_warning_repeats_and_ends_when_data_arrives(sim, tmp_path, monkeypatch):
    monkeypatch.setattr(paper, "NO_DATA_FIRST_S", 0.5)
    monkeypatch.setattr(paper, "NO_DATA_REPEAT_S", 0.5)
    _fault(sim, kind="stall", seconds=2.5)
    r = _paper(
        "--asset", "HYPE", "--base-url", sim, "--duration", "4", "--out", str(tmp_path / "p")
    )
    assert r.exit_code == 0, r.output
    lines = r.stderr.strip().splitlines()
    ws = sim.replace("http://", "ws://") + "/ws"
    assert lines[0].startswith(f"warning: no market data for HYPE has arrived from {ws} in ")
    assert len(lines) >= 3 and lines[-1] == (
        f"warning: market data for HYPE from {ws} is arriving again"
    )
    assert all("no market data for HYPE" in x for x in lines[:-1])


# -- SIGTERM ends a session as cleanly as Ctrl+C ----------------------------------------------
def _start_paper(base_url: str, out: Path, cwd: Path) -> subprocess.Popen:
    cmd = [sys.executable, str(REPO / "cli.py"), "paper", "--asset", "HYPE", "--quiet"]
    return subprocess.Popen(
        [*cmd, "--base-url", base_url, "--duration", "0", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
    )


@pytest.mark.simulator
def test_sigterm_closes_compacts_and_summarises_like_ctrl_c(sim, tmp_path):
    out = tmp_path / "p"
    proc = _start_paper(sim, out, tmp_path)
    try:
        end = time.monotonic() + 30
        while not (out / "book").is_dir() or not any((out / "book").iterdir()):
            assert time.monotonic() < end and proc.poll() is None, proc.stderr.read()
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.05)
        if proc.poll() is None:  # a second one while the journal closes: acknowledged only
            proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr
    assert "stopped by" in stdout and "SIGTERM (journal closed)" in stdout
    assert f"journal: {out}" in stdout.splitlines()
    assert (tmp_path / "checkpoints" / "paper" / "HYPE" / "prior.json").is_file()
    man = json.loads((out / MANIFEST_NAME).read_text())
    assert man["closed"] and man["stats"]["summary"]["stopped_by"] == "SIGTERM"
    for table in out.iterdir():
        if table.is_dir():
            assert len(list(table.glob("part-*.parquet"))) <= 1, table  # compacted
    assert replay_command(out, verify=True, until=None) == 0


@pytest.mark.simulator
def test_sigterm_before_the_session_starts_writes_nothing(sim, tmp_path):
    _fault(sim, kind="429", seconds=30)
    out = tmp_path / "p"
    proc = _start_paper(sim, out, tmp_path)
    try:
        assert "retrying" in proc.stderr.readline()
        proc.send_signal(signal.SIGTERM)
        stdout, _ = proc.communicate(timeout=30)
    finally:
        proc.kill()
        _fault(sim, kind="clear")
    assert proc.returncode == 128 + signal.SIGTERM
    assert stdout.strip() == "stopped (SIGTERM) before the session started; nothing was written"
    assert not out.exists()


def test_the_networks_own_api_is_not_named_as_a_flag_never_given():
    # `paper --asset HYPE` offline said "--base-url https://api.hyperliquid.xyz: ...
    # is the exchange (or a sim-exchange) running there?"
    from framework.environments.paper import PaperError
    from framework.hyperliquid.rest import MAINNET_API_URL

    def offline(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Name or service not known", request=request)

    with pytest.raises(PaperError) as err:
        asyncio.run(
            paper._resolve(MAINNET_API_URL, "HYPE", "", transport=httpx.MockTransport(offline))
        )
    msg = str(err.value)
    assert msg.startswith(f"the mainnet API {MAINNET_API_URL} (--network mainnet): ")
    assert "--base-url" not in msg and "network connection" in msg
