"""Latency: signing an order, and tick-to-order from a market event to the bytes on the socket.

Run from the repository root::

    .venv/bin/python -m benchmarks.latency                 # both, about 30 s
    .venv/bin/python -m benchmarks.latency sign            # the signed-order build only
    .venv/bin/python -m benchmarks.latency tick --seconds 60 --sim thread --journal

Prints one JSON line per measurement (as ``benchmarks.run``), times in µs:

* ``sign_order_<signer>``: building one signed ``order`` action as the executor does
  (``order_wire``, msgpack + keccak action hash, EIP-712 digest, secp256k1 signature,
  the ``/exchange`` body and the WS post frame as JSON), for the signer in use
  (coincurve / libsecp256k1 directly), eth-account's ``unsafe_sign_hash`` (the previous
  signer: coincurve through eth-keys, re-deriving the public key every call) and eth-keys'
  pure-Python backend (what signing cost before coincurve was installed).
* ``tick_to_order``: against the local exchange simulator in this process (``--sim
  loop``: the same event loop; ``thread``: its own thread), a WS market message arrives,
  is parsed, journaled (``--journal wal``: rows synced to the write-ahead log before
  commands are sent, as paper and live sessions do; ``--journal all``: a Parquet part of
  every table instead, as they did before the log; ``--journal commands``: a part of the
  order_commands table only) and
  stepped through the engine with the reference strategy, its order commands become a
  signed ``/exchange`` action, and the post frame is written to the WS.  The venue's
  answers are fed back to the engine as ``order_responses`` inputs (so the strategy's
  orders stay consistent); their commands are measured too.  Stages: ``engine`` (frame
  received -> commands decided: JSON parse, row parse, journal, engine step), ``wakeup``
  (-> the send task runs), ``build_sign`` (-> the action built and signed: ``build``, the
  commands checked against the grid and made wire elements, and ``sign``, action hash,
  EIP-712 digest, signature and ``/exchange`` body), ``write`` (-> the post frame
  serialised and written to the socket).  ``*_cpu``: the same stretches in CPU time of
  this thread, which leaves out the moments other processes had the core.  ``total`` is the first
  request of each input event (an event whose commands span two actions, say a place
  and a cancel, sends the second after the first is answered: ``later_requests``).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from framework.hyperliquid.executor import Executor
from framework.hyperliquid.ws import WsClient

KEY = "0x" + "3c" * 32  # a throw-away key the simulator funds


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))
    return s[k]


def _summary(values_ns: list[int]) -> dict[str, float | None]:
    us = [v / 1000 for v in values_ns]
    if not us:
        return {"n": 0, "p50_us": None, "p99_us": None, "max_us": None, "mean_us": None}
    return {
        "n": len(us),
        "p50_us": round(_pct(us, 50), 1),
        "p99_us": round(_pct(us, 99), 1),
        "max_us": round(max(us), 1) if us else float("nan"),
        "mean_us": round(statistics.fmean(us), 1) if us else float("nan"),
    }


# -- the signed-order build ---------------------------------------------------------------
class _EthAccountSigner:
    """The previous signer: eth-account's ``unsafe_sign_hash`` with eth-keys' ``backend``
    (``coincurve`` when installed, else pure-Python ``native``), or, with ``typed``, the
    SDK's way: the full EIP-712 message encoded by eth-account and signed."""

    def __init__(self, key: str, backend: str, typed: bool = False) -> None:
        from eth_account import Account
        from eth_keys.backends import CoinCurveECCBackend, NativeECCBackend

        self._api = Account()
        self._api.set_key_backend(
            CoinCurveECCBackend() if backend == "coincurve" else NativeECCBackend()
        )
        self._key = key
        self.typed = typed
        self.address = Account.from_key(key).address.lower()

    def sign_hash(self, digest: bytes) -> dict[str, Any]:
        s = self._api.unsafe_sign_hash(digest, self._key)
        return {"r": hex(s.r), "s": hex(s.s), "v": s.v}

    def sign_typed(self, typed_data: dict[str, Any]) -> dict[str, Any]:
        from eth_account.messages import encode_typed_data

        s = self._api.sign_message(encode_typed_data(full_message=typed_data), self._key)
        return {"r": hex(s.r), "s": hex(s.s), "v": s.v}


def signed_order_frame(signer: Any, nonce: int) -> str:
    """One signed order action as the WS post frame the executor writes."""
    from decimal import Decimal

    from framework.hyperliquid import wire
    from framework.hyperliquid.signing import action_hash, l1_typed_data, sign_l1_action

    order = wire.order_wire(
        0,
        True,
        Decimal("25.012"),
        Decimal("4.01"),
        False,
        wire.limit("Alo"),
        wire.cloid_from_int(nonce),
    )
    action = wire.order_action([order])
    if getattr(signer, "typed", False):  # the SDK's path: EIP-712 encoded by eth-account
        typed = l1_typed_data(action_hash(action, nonce, None, None), False)
        sig = signer.sign_typed(typed)
    else:
        sig = sign_l1_action(signer, action, nonce, None, None, is_mainnet=False)
    payload = wire.exchange_payload(action, nonce, sig, None, None)
    return json.dumps(
        {"method": "post", "id": nonce, "request": {"type": "action", "payload": payload}}
    )


def bench_sign(n: int = 3000) -> list[dict[str, Any]]:
    """Each signer's signed-order build: wall time and CPU time of this thread (the CPU
    time leaves out the moments another process had the core)."""
    from framework.hyperliquid.keys import Signer

    out = []
    cases = [
        ("coincurve", Signer.from_private_key(KEY), n),
        ("eth_account_coincurve", _EthAccountSigner(KEY, "coincurve"), n // 3),
        ("eth_account_native", _EthAccountSigner(KEY, "native"), n // 10),
        ("sdk_typed_data_native", _EthAccountSigner(KEY, "native", typed=True), n // 10),
    ]
    frames = set()
    for name, signer, count in cases:
        wall, cpu = [], []
        for i in range(count + 20):
            t0, c0 = time.perf_counter_ns(), time.thread_time_ns()
            frame = signed_order_frame(signer, 1_700_000_000_000 + i)
            c1, t1 = time.thread_time_ns(), time.perf_counter_ns()
            if i >= 20:  # warm-up
                wall.append(t1 - t0)
                cpu.append(c1 - c0)
            if i == 0:
                frames.add(frame)
        out.append(
            {
                "name": f"sign_order_{name}",
                **_summary(wall),
                "cpu": _summary(cpu),
                "loadavg_1m": round(os.getloadavg()[0], 2),
            }
        )
    # every signer produces the same bytes (RFC 6979 nonces, low-s)
    assert len(frames) == 1, "signers disagree"
    return out


# -- tick to order ------------------------------------------------------------------------
class _TimedWs(WsClient):
    """The WS client with timestamps: when a frame was handed to us, when each post frame
    was written to the socket."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.t_frame = (0, 0)
        self.written: list[tuple[int, int]] = []

    def _handle(self, raw: str | bytes, recv_ts: int) -> None:
        self.t_frame = (time.perf_counter_ns(), time.thread_time_ns())
        super()._handle(raw, recv_ts)

    async def _send(self, obj: Any) -> None:
        await super()._send(obj)  # json.dumps and the write to the socket
        if obj.get("method") == "post":
            self.written.append((time.perf_counter_ns(), time.thread_time_ns()))


class _TimedExecutor(Executor):
    """The executor with a timestamp when each action is built and signed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.t_signed: list[tuple[int, int]] = []
        self.t_built: list[tuple[int, int]] = []

    async def send(self, action: dict[str, Any]) -> Any:
        from framework.hyperliquid import wire
        from framework.hyperliquid.signing import sign_l1_action

        self.t_built.append((time.perf_counter_ns(), time.thread_time_ns()))
        nonce = self.nonces.next(self.signer.address)
        sig = sign_l1_action(
            self.signer, action, nonce, self.vault_address, None, is_mainnet=self.is_mainnet
        )
        payload = wire.exchange_payload(action, nonce, sig, self.vault_address, None)
        self.t_signed.append((time.perf_counter_ns(), time.thread_time_ns()))
        return await self.post(payload, wire.batch_length(action))


class _Pipeline:
    """The live loop in miniature: WS market messages -> engine -> executor -> WS."""

    def __init__(
        self, engine: Any, writer: Any, coin: str, ex: _TimedExecutor, ws: _TimedWs
    ) -> None:
        from framework.events.schema import Kind, spec
        from framework.recordings.repair import TimeRepair

        self.engine, self.writer, self.coin, self.ex, self.ws = engine, writer, coin, ex, ws
        self.mode = "wal"
        self.cols = spec(Kind.ORDER_COMMANDS).columns
        self.repair = TimeRepair()
        self.started = False
        self.samples: dict[str, list[int]] = {
            k: []
            for k in (
                "total",
                "engine",
                "wakeup",
                "build_sign",
                "build",
                "sign",
                "write",
                "sign_and_write",
                "later_requests",
                "engine_cpu",
                "build_sign_cpu",
                "build_cpu",
                "sign_cpu",
                "write_cpu",
                "sign_and_write_cpu",
            )
        }
        self.commands = 0
        self.tasks: set[asyncio.Task[Any]] = set()
        self.busy = asyncio.Lock()

    def step(self, kind: Any, ts: int, recv_ts: int, payload: tuple[Any, ...]) -> list[dict]:
        from framework.events.columns import Columns
        from framework.events.schema import Kind

        e = self.engine
        if not self.started:
            e.start(recv_ts)
            self.started = True
        before = e.counts[Kind.ORDER_COMMANDS]
        seq = e.next_input_seq()
        row = (seq, ts, recv_ts, *payload)
        if self.writer is not None:
            self.writer.append(kind, row)
        e.step(kind, seq, recv_ts, Columns.from_rows(kind, [row]), 0)
        n = e.counts[Kind.ORDER_COMMANDS] - before
        if not n:
            return []
        if self.writer is not None:  # write-ahead: commands durable before they are sent
            if self.mode == "wal":
                self.writer.sync()
            else:
                self.writer.flush(None if self.mode == "all" else [Kind.ORDER_COMMANDS])
        return [dict(zip(self.cols, r, strict=True)) for r in e.sink.commands[-n:]]

    def on_message(self, msg: dict[str, Any], recv_ts: int) -> None:
        from framework.recordings.messages import parse_ws_message

        t_frame = self.ws.t_frame
        recv_ts = self.repair.recv(recv_ts)
        try:
            rows = parse_ws_message(msg, recv_ts)
        except Exception:
            return
        cmds: list[dict] = []
        for kind, row in rows:
            if row[2] != self.coin:
                continue
            cmds += self.step(kind, self.repair.ts(row[0], recv_ts), recv_ts, tuple(row[2:]))
        if cmds:
            self._launch(cmds, t_frame)

    def _launch(self, cmds: list[dict], t_in: tuple[int, int]) -> None:
        t_cmd = (time.perf_counter_ns(), time.thread_time_ns())
        task = asyncio.get_running_loop().create_task(self._send(cmds, t_in, t_cmd))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _send(self, cmds: list[dict], t_in: tuple[int, int], t_cmd: tuple[int, int]) -> None:
        from framework.events.schema import Kind

        async with self.busy:  # one batch at a time, as one executor connection would
            t_start = (time.perf_counter_ns(), time.thread_time_ns())
            n_written, n_signed = len(self.ws.written), len(self.ex.t_signed)
            n_built = len(self.ex.t_built)
            rows = await self.ex.execute_commands(cmds)
            written = self.ws.written[n_written:]
            signed = self.ex.t_signed[n_signed:]
            built = self.ex.t_built[n_built:]
            if written and signed:
                s = self.samples
                w0, g0, b0 = written[0], signed[0], built[0]
                s["build"].append(b0[0] - t_start[0])
                s["sign"].append(g0[0] - b0[0])
                s["build_cpu"].append(b0[1] - t_start[1])
                s["sign_cpu"].append(g0[1] - b0[1])
                s["total"].append(w0[0] - t_in[0])
                s["engine"].append(t_cmd[0] - t_in[0])
                s["wakeup"].append(t_start[0] - t_cmd[0])
                s["build_sign"].append(g0[0] - t_start[0])
                s["write"].append(w0[0] - g0[0])
                s["sign_and_write"].append(w0[0] - t_start[0])
                s["engine_cpu"].append(t_cmd[1] - t_in[1])
                s["build_sign_cpu"].append(g0[1] - t_start[1])
                s["write_cpu"].append(w0[1] - g0[1])
                s["sign_and_write_cpu"].append(w0[1] - t_start[1])
                s["later_requests"] += [w[0] - t_in[0] for w in written[1:]]
                self.commands += len(cmds)
            t_resp = (time.perf_counter_ns(), time.thread_time_ns())
            more: list[dict] = []
            for row in rows:
                now = self.repair.recv(time.time_ns())
                more += self.step(Kind.ORDER_RESPONSES, now, now, row)
        if more:
            self._launch(more, t_resp)


class _CommandSink:
    """Keeps the order commands (the rest of the outputs are dropped, or journaled)."""

    def __init__(self, writer: Any = None) -> None:
        self.writer = writer
        self.commands: list[tuple[Any, ...]] = []

    def append(self, kind: Any, row: tuple[Any, ...]) -> None:
        from framework.events.schema import Kind

        if kind == Kind.ORDER_COMMANDS:
            self.commands.append(row)
        if self.writer is not None:
            self.writer.append(kind, row)


async def _tick_to_order(
    seconds: float,
    speed: float,
    sim_mode: str,
    journal: bool,
    gc_freeze: bool = False,
    mode: str = "wal",
) -> dict[str, Any]:
    import contextlib

    from framework.config import config_from_dict
    from framework.engine.core import Engine
    from framework.engine.drive import load_component
    from framework.environments.backtest import apply_overrides, component_list
    from framework.hyperliquid.dexes import AssetDirectory
    from framework.hyperliquid.info import InfoClient
    from framework.hyperliquid.keys import Signer
    from framework.hyperliquid.nonce import NonceStore
    from framework.hyperliquid.recorder import market_subscriptions
    from framework.hyperliquid.simulator.config import SimConfig
    from framework.hyperliquid.simulator.server import SimulatorThread, run_simulator
    from framework.journal import JournalWriter, Manifest

    signer = Signer.from_private_key(KEY)
    sim_cfg = SimConfig(
        port=0, synthetic=True, asset="HYPE", seed=11, speed=speed, deposits={signer.address: 1e6}
    )
    async with contextlib.AsyncExitStack() as stack:
        if sim_mode == "thread":
            handle = stack.enter_context(SimulatorThread(sim_cfg))
        else:
            handle = await stack.enter_async_context(run_simulator(sim_cfg))
        info = InfoClient(handle.base_url)
        stack.push_async_callback(info.aclose)
        directory = await AssetDirectory.load(info, dexes=None)
        coin = "HYPE"
        # quotes that follow every tick, so the strategy sends a command on most mid moves
        base = config_from_dict(
            {
                "strategy": {
                    "requote_tolerance_bps": 0.0,
                    "requote_spread_fraction": 0.0,
                    "requote_interval_s": 1.0,
                }
            }
        )
        cfg = apply_overrides(
            base,
            coin=coin,
            sz_decimals=directory.resolve(coin).sz_decimals,
            spread_profile="aggressive",
        )
        comps = component_list(cfg, paper_fills=False)
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="mm-latency-"))
        writer = (
            JournalWriter(
                Path(tmp) / "j",
                Manifest(mode="live", asset=coin, coin=coin, components=comps),
                write_ahead=mode == "wal",
            )
            if journal
            else None
        )
        sink = _CommandSink(writer)
        engine = Engine([load_component(c) for c in comps], seed=0, sink=sink)
        ws = _TimedWs(handle.ws_url)
        ex = _TimedExecutor(
            signer=signer,
            nonces=NonceStore(None),
            directory=directory,
            is_mainnet=False,
            rest=info.rest,
            ws=ws,
        )
        pipe = _Pipeline(engine, writer, coin, ex, ws)
        pipe.mode = mode
        ws._on_message = pipe.on_message
        for sub in market_subscriptions(coin):
            await ws.subscribe(sub)
        await ws.start()
        await ws.wait_connected(10)
        if gc_freeze:  # the start-up objects out of the collector's way (gc.freeze)
            gc.collect()
            gc.freeze()
        await asyncio.sleep(seconds)
        await ws.close()
        pending = list(pipe.tasks)
        for t in pending:
            t.cancel()
        await asyncio.gather(*pending, return_exceptions=True)  # before the clients close
        if writer is not None:
            writer.close()
    return {
        "name": "tick_to_order",
        "loadavg_1m": round(os.getloadavg()[0], 2),
        "sim": sim_mode,
        "journal": {"wal": "write-ahead log", "all": "all tables", "commands": "order_commands"}[
            mode
        ]
        if journal
        else None,
        "gc_freeze": gc_freeze,
        "seconds": seconds,
        "speed": speed,
        "events": engine.events,
        "commands": pipe.commands,
        "signer": "coincurve",
        **{k: _summary(v) for k, v in pipe.samples.items()},
    }


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.latency", description=__doc__.split("\n")[0]
    )
    p.add_argument("what", nargs="*", choices=["sign", "tick", []], help="default: both")
    p.add_argument("--seconds", type=float, default=20.0, help="tick_to_order run length")
    p.add_argument("--speed", type=float, default=10.0, help="simulator market speed")
    p.add_argument("--sim", choices=["loop", "thread"], default="loop")
    p.add_argument(
        "--journal",
        choices=["wal", "all", "commands"],
        help="journal the session; before each send sync the write-ahead log (as paper and "
        "live do), or write a Parquet part of every table, or of order_commands only",
    )
    p.add_argument("--gc-freeze", action="store_true", help="gc.freeze() after start-up")
    args = p.parse_args(argv)
    args.what = args.what or ["sign", "tick"]
    if "sign" in args.what:
        for line in bench_sign():
            print(json.dumps(line), flush=True)
    if "tick" in args.what:
        res = asyncio.run(
            _tick_to_order(
                args.seconds,
                args.speed,
                args.sim,
                bool(args.journal),
                args.gc_freeze,
                mode=args.journal or "wal",
            )
        )
        print(json.dumps(res), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
