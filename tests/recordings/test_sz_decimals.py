"""szDecimals travels with a recording: record (meta), import (table or flag), backtest."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from framework.environments.backtest import run_backtest
from framework.events.schema import Kind
from framework.journal import JournalReader
from framework.recordings.coins import KNOWN_SZ_DECIMALS
from tests.conftest import BTC_CAPTURE

runner = CliRunner()


def _import(*args: str) -> object:
    return runner.invoke(app, ["import", *args])


def test_imported_btc_backtest_quotes_the_base_notional_on_the_5_decimal_lot(
    tmp_path: Path,
) -> None:
    """Before: the import recorded no szDecimals, the backtest fell back to 2 and quoted
    0.01 BTC (~$1,050, ten times the $100 base size)."""
    rec = tmp_path / "btc"
    res = _import(str(BTC_CAPTURE), "--out", str(rec))
    assert res.exit_code == 0, res.output
    assert "szDecimals 5 from the known-coins table" in res.stdout
    assert JournalReader(rec).manifest.sz_decimals == 5

    out = run_backtest(rec, out=tmp_path / "bt", progress=False).out
    reader = JournalReader(out)
    assert reader.manifest.sz_decimals == 5
    assert reader.manifest.config["strategy"]["sz_decimals"] == 5
    orders = reader.table(Kind.ORDER_COMMANDS).to_pylist()
    places = [o for o in orders if o["action"] == "place"]
    assert places, "the strategy placed no order over the capture"
    for o in places:
        assert round(o["sz"], 5) == o["sz"]  # on the 10^-5 lot
        # base_notional_usd 100: one lot is ~$1 at $105k, so within a couple of dollars
        assert 95.0 <= o["px"] * o["sz"] <= 105.0, o


def test_unknown_coin_without_the_flag_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    lines = _capture_text().splitlines()[:3]  # book, book, trades of the real capture
    path = tmp_path / "foo.txt"
    path.write_text("\n".join(lines).replace('"coin":"BTC"', '"coin":"FOO"') + "\n")
    out = tmp_path / "foo"
    res = _import(str(path), "--out", str(out))
    assert res.exit_code == 2
    err = res.stderr.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("error: coin 'FOO': its szDecimals")
    assert "pass --sz-decimals N" in err[0] and "nothing was written" in err[0]
    assert not out.exists()

    # --asset names the coin up front: refused before a line is read
    res = _import(str(path), "--out", str(out), "--asset", "FOO")
    assert res.exit_code == 2 and "coin 'FOO'" in res.stderr
    assert not out.exists()

    res = _import(str(path), "--out", str(out), "--sz-decimals", "3")
    assert res.exit_code == 0, res.output
    m = JournalReader(out).manifest
    assert (m.coin, m.sz_decimals, m.source["sz_decimals"]) == ("FOO", 3, "--sz-decimals")


def test_sz_decimals_flag_overrides_the_table_with_a_warning(tmp_path: Path) -> None:
    res = _import(str(BTC_CAPTURE), "--out", str(tmp_path / "j"), "--sz-decimals", "4")
    assert res.exit_code == 0, res.output
    assert "--sz-decimals 4 overrides the known BTC value 5" in res.stderr
    assert JournalReader(tmp_path / "j").manifest.sz_decimals == 4


@pytest.mark.parametrize("bad", ["7", "-1"])
def test_sz_decimals_flag_out_of_range(tmp_path: Path, bad: str) -> None:
    res = _import(str(BTC_CAPTURE), "--out", str(tmp_path / "j"), "--sz-decimals", bad)
    assert res.exit_code == 2
    assert f"--sz-decimals {bad}: must be an integer in 0..6" in res.stderr
    assert not (tmp_path / "j").exists()


def test_record_writes_the_meta_sz_decimals(tmp_path: Path) -> None:
    """The value comes from the venue's meta, not from the importer's table."""
    import httpx

    from framework.hyperliquid.info import InfoClient
    from framework.hyperliquid.recorder import record
    from framework.hyperliquid.rest import RestClient
    from framework.hyperliquid.ws import WsConfig

    meta = {"universe": [{"name": "BTC", "szDecimals": 3, "maxLeverage": 50}]}

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        return httpx.Response(200, json=[None] if body["type"] == "perpDexs" else meta)

    info = InfoClient(rest=RestClient("http://venue.test", transport=httpx.MockTransport(handler)))
    cfg = WsConfig(reconnect_base_s=0.01, reconnect_cap_s=0.02, stall_after_s=None)
    result = asyncio.run(
        record(
            "http://venue.test",
            "BTC",
            0.05,
            tmp_path / "j",
            info=info,
            ws_config=cfg,
            url="ws://127.0.0.1:9/ws",  # nothing listens: the journal holds only the manifest
        )
    )
    assert result.sz_decimals == 3
    assert JournalReader(tmp_path / "j").manifest.sz_decimals == 3


def test_known_coins_agree_with_the_synthetic_and_simulated_markets() -> None:
    """One table for the importer; the generator and the simulator list the same values."""
    from framework.hyperliquid.simulator.config import DEFAULT_DEXES
    from framework.synth.params import KNOWN_ASSETS

    for coin, spec in KNOWN_ASSETS.items():
        assert KNOWN_SZ_DECIMALS[coin] == spec.sz_decimals, coin
    for coin, szd, _lev in DEFAULT_DEXES[0].coins:
        assert KNOWN_SZ_DECIMALS[coin] == szd, coin


def _capture_text() -> str:
    import gzip

    return gzip.decompress(BTC_CAPTURE.read_bytes()).decode()
