"""``market-maker run``: the seed's Auto-Calibration Pipeline, then live trading.

::

    Load & assess prior --Ready / Marginal (fresh)-------------------------> Live
          | missing / stale / insufficient
          v
    Auto paper (--calibration-duration) -> Assess & stamp --passes--------> Live
                                               | fails
                                               v
                                     error + diagnostic (or --force)

* The prior is ``<checkpoint-dir>/paper/<coin key>/prior.json`` or ``--paper-checkpoint``;
  its verdict is its readiness stamp; its age (from the stamp's event time to now, taken
  here, when it is loaded) against ``[calibration] stale_after_s`` (4 h) makes it stale.
* Ready goes live; Marginal goes live with the defensive multipliers
  (``risk.readiness = "marginal"``: wider spreads, smaller sizes).
* Missing, stale or Insufficient runs a paper session on live data for
  ``--calibration-duration`` (its own journal, ``<out>-calibration``), which stamps and
  writes the prior; a Ready or Marginal stamp goes live (from that prior), an
  Insufficient one stops with exit 1 and what the verdict lacks.
* ``--no-auto-paper``: missing, stale or Insufficient stops instead of auto-papering.
  ``--skip-calibration``: no gate; whatever prior exists is used (its multipliers
  follow its verdict: anything short of a fresh Ready trades Marginal), none = cold
  start.  ``--force``: cold start, no prior at all (implies skip).

Every step is printed (``run: <action>: <reason>``) and journaled as a ``control`` row
(topic ``run``) at the start of the live journal, and recorded in its manifest
(``source.run``); a calibration run journals its verdict and the decision as
``control`` rows before its journal is closed.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from framework.config import SessionConfig, config_from_dict, unstructure

__all__ = ["CalibrationGateError", "Gate", "Plan", "load_gate", "plan", "run_command"]


class CalibrationGateError(RuntimeError):
    """The chart does not allow live trading (exit 1); the message says why and what
    the verdict lacks."""


@attrs.frozen
class Gate:
    """What the prior says: ``status`` is missing, stale, insufficient, marginal or ready."""

    status: str
    path: Path
    reason: str
    verdict: str | None = None
    age_s: float | None = None
    lacking: tuple[str, ...] = ()


def load_gate(path: Path, *, now_ns: int, stale_after_s: float) -> Gate:
    """Load and assess the prior at ``path`` (its age taken at ``now_ns``).

    Raises
    ------
    PriorError
        The file exists but is not a usable prior (corrupt, newer schema).
    """
    from framework.calibration.prior import load_prior, resolve_prior

    path = resolve_prior(path)
    if not path.is_file():
        return Gate("missing", path, f"no prior at {path}")
    prior = load_prior(path)
    age = prior.age_s(now_ns)
    verdict = prior.stamp.verdict
    lacking = tuple(prior.stamp.lacking())
    if age > stale_after_s:
        return Gate(
            "stale",
            path,
            f"prior {path} is {_age(age)} old (stale after {_age(stale_after_s)}; verdict "
            f"{verdict})",
            verdict,
            age,
            lacking,
        )
    status = verdict.lower()
    if status not in ("ready", "marginal"):
        status = "insufficient"
    return Gate(
        status, path, f"prior {path}: verdict {verdict}, {_age(age)} old", verdict, age, lacking
    )


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


@attrs.frozen
class Plan:
    """The next step: ``live`` (with ``readiness`` and ``prior``), ``auto_paper`` or
    ``refuse``; ``steps`` are the decisions that led there, ``(action, reason, value)``."""

    next: str
    steps: tuple[tuple[str, str, float | None], ...]
    readiness: str = "ready"
    prior: Path | None = None


def plan(
    gate: Gate | None,
    *,
    force: bool = False,
    skip_calibration: bool = False,
    no_auto_paper: bool = False,
    after_paper: bool = False,
) -> Plan:
    """The chart's decision for a gate (None with ``--force``: no prior is looked at)."""
    if force:
        return _cold_start("force", "--force: cold start with no prior, calibration gate skipped")
    assert gate is not None
    age = gate.age_s
    if skip_calibration:
        if gate.status == "missing":
            return _cold_start("skip_calibration", f"--skip-calibration: {gate.reason}; cold start")
        readiness = "ready" if gate.status == "ready" else "marginal"
        return Plan(
            "live",
            (
                (
                    "skip_calibration",
                    f"--skip-calibration: {gate.reason}; live with {readiness} multipliers",
                    age,
                ),
            ),
            readiness,
            gate.path,
        )
    if gate.status in ("ready", "marginal"):
        what = "paper_passed" if after_paper else f"prior_{gate.status}"
        how = "full confidence" if gate.status == "ready" else "defensive spreads and sizes"
        return Plan(
            "live",
            ((what, f"{gate.reason}: live with {how}", age),),
            gate.status,
            gate.path,
        )
    if after_paper:
        return Plan("refuse", (("paper_failed", f"{gate.reason}: live trading refused", age),))
    step = (f"prior_{gate.status}", gate.reason, age)
    if no_auto_paper:
        return Plan(
            "refuse",
            (step, ("refused", "--no-auto-paper: no calibrated prior, live trading refused", None)),
        )
    return Plan("auto_paper", (step,))


def _cold_start(action: str, why: str) -> Plan:
    """Live without a prior.  A cold start knows less than an Insufficient prior, so it
    trades no less defensively: the Marginal multipliers [ours; the seed does not say]."""
    return Plan(
        "live", ((action, f"{why}; live with marginal (defensive) multipliers", None),), "marginal"
    )


def _with_readiness(cfg: SessionConfig, readiness: str) -> SessionConfig:
    data = unstructure(cfg)
    data["risk"]["readiness"] = readiness
    return config_from_dict(data, "run")


def _refusal(gate: Gate | None, why: str) -> CalibrationGateError:
    """The error that stops the chart; the readiness diagnostic (what the verdict
    lacks) goes to stderr first, one line each."""
    if gate is not None:
        for line in gate.lacking:
            print(f"  lacking: {line}", file=sys.stderr, flush=True)
    return CalibrationGateError(
        f"{why}; run a longer calibration (--calibration-duration), or override with "
        "--skip-calibration or --force"
    )


def run_pipeline(
    *,
    asset: str,
    dex: str,
    cfg: SessionConfig,
    out: Path,
    checkpoint_dir: Path,
    paper_checkpoint: Path | None,
    force: bool,
    skip_calibration: bool,
    no_auto_paper: bool,
    duration_s: float,
    signer: Any,
    say: Callable[[str], None] = print,
    views: Any = None,
) -> int:
    """The chart, then the live session; returns the exit code.  ``views`` (a
    :class:`framework.environments.views.SessionViews`) shows both the calibration
    session and the live one, on one dashboard.

    Raises
    ------
    CalibrationGateError
        The chart refuses live trading.
    """
    from framework.calibration.prior import prior_path
    from framework.environments.live import run_live
    from framework.environments.paper import PaperFeed, run_paper
    from framework.events.schema import Kind
    from framework.exits import UsageError
    from framework.journal.outdir import occupied
    from framework.live.venue import api_url

    coin_guess = f"{dex}:{asset}" if dex and ":" not in asset else asset
    path = Path(paper_checkpoint) if paper_checkpoint else prior_path(checkpoint_dir, coin_guess)
    stale = cfg.calibration.stale_after_s
    gate = None if force else load_gate(path, now_ns=time.time_ns(), stale_after_s=stale)
    p = plan(gate, force=force, skip_calibration=skip_calibration, no_auto_paper=no_auto_paper)
    steps = list(p.steps)
    for action, reason, _ in p.steps:
        say(f"run: {action}: {reason}")
    record: dict[str, Any] = {"gate": attrs.asdict(gate, recurse=False) if gate else None}
    if record["gate"]:
        record["gate"]["path"] = str(gate.path)
        record["gate"]["lacking"] = list(gate.lacking)
    if p.next == "refuse":
        raise _refusal(gate, f"{steps[-1][1]}")
    if p.next == "auto_paper":
        cal_out = out.with_name(out.name + "-calibration")
        taken = occupied(cal_out)
        if taken is not None:  # before anything connects, not after the decisions
            raise UsageError(
                f"--out {out}: its calibration journal goes to {cal_out}, which {taken}"
            )
        dur = cfg.live.calibration_duration_s
        steps.append(
            (
                "auto_paper",
                f"paper trading {coin_guess} on live data for {dur:g} s to calibrate "
                f"(journal {cal_out})",
                dur,
            )
        )
        say(f"run: auto_paper: {steps[-1][1]}")
        verdicts: dict[str, Any] = {}

        def on_end(feed: PaperFeed, priors: Any) -> dict[str, Any] | None:
            # Stamp and write the prior now, then journal the verdict and the decision
            # in the calibration journal before it is closed.
            if priors is None:
                return None
            res = priors.write()
            g = load_gate(Path(res["path"]), now_ns=time.time_ns(), stale_after_s=stale)
            after = plan(g, after_paper=True)
            verdicts["gate"], verdicts["plan"] = g, after
            now = feed.repair.recv(feed.clock_ns())
            for action, reason, value in after.steps:
                feed.input(Kind.CONTROL, now, now, ("run", action, value, reason))
            return res

        result = asyncio.run(
            run_paper(
                asset,
                dex=dex,
                duration_s=dur,
                base_url=api_url(cfg.live),
                config=cfg,
                out=cal_out,
                progress=False,
                paper_checkpoint=gate.path if gate and gate.status != "missing" else None,
                checkpoint_dir=checkpoint_dir,
                on_end=on_end,
                views=views,
            )
        )
        stopped = result.summary.get("stopped_by")
        if stopped or "plan" not in verdicts:
            say(f"run: stopped ({stopped or 'no verdict'}) during calibration; live did not start")
            return 0
        g, p = verdicts["gate"], verdicts["plan"]
        record["calibration"] = {"journal": str(cal_out), "verdict": g.verdict}
        for action, reason, _ in p.steps:
            say(f"run: {action}: {reason}")
        steps += list(p.steps)
        if p.next != "live":
            raise _refusal(g, f"calibration run {cal_out}: {p.steps[-1][1]}")
    live_cfg = _with_readiness(cfg, p.readiness)
    steps.append(("live", f"live trading with readiness {live_cfg.risk.readiness}", None))
    say(f"run: live: {steps[-1][1]}")
    record["steps"] = [list(s) for s in steps]
    result = asyncio.run(
        run_live(
            asset,
            dex=dex,
            cfg=live_cfg,
            out=out,
            signer=signer,
            decisions=steps,
            prior=p.prior,
            checkpoint_dir=checkpoint_dir,
            duration_s=duration_s,
            say=say,
            run_record=record,
            views=views,
        )
    )
    from framework.environments.summary import render_summary

    render_summary(result.summary, None)
    say(f"journal: {result.out}")
    live = result.summary.get("live", {})
    if live.get("kill"):
        print(
            f"error: kill switch: {live['kill']}; every order cancelled, session stopped",
            file=sys.stderr,
        )
    return result.exit_code


def run_command(
    *,
    asset: str,
    dex: str = "",
    config: Path | None = None,
    out: Path | None = None,
    checkpoint_dir: Path = Path("checkpoints"),
    paper_checkpoint: Path | None = None,
    force: bool = False,
    skip_calibration: bool = False,
    no_auto_paper: bool = False,
    calibration_duration: float | None = None,
    dry_run: bool = False,
    max_position: float | None = None,
    max_position_usd: float | None = None,
    max_drawdown: float | None = None,
    max_daily_loss: float | None = None,
    leverage: float | None = None,
    flatten_on_kill: bool = False,
    base_url: str | None = None,
    network: str | None = None,
    spread_profile: str | None = None,
    duration_s: float = 0.0,
    list_dexs: bool = False,
    quiet: bool = True,
    dashboard: bool = False,
    dashboard_port: int | None = None,
    capture: Path | None = None,
) -> int:
    """``market-maker run``: check the flags, resolve the config (flags > ``MM_*``
    environment > ``--config`` file > defaults), load the key, then the dry run or the
    chart and the live session.  Returns the exit code.

    Raises
    ------
    UsageError, ConfigError, KeyLoadError, PriorError
        Before anything is sent (exit 2).
    CalibrationGateError, LiveError
        The chart refused live trading, or the session failed (exit 1).
    """
    from framework import exits, flags
    from framework.config import resolve_config
    from framework.environments.live import LiveInterrupted, default_out
    from framework.live.venue import load_signer

    if not asset.strip() and not list_dexs:
        raise exits.UsageError("--asset '': name a coin, e.g. --asset HYPE or --asset xyz:TSLA")
    if base_url is not None:
        flags.base_url(base_url)
    flags.spread_profile(spread_profile)
    flags.new_out("--out", out)
    flags.seconds("--duration", duration_s, zero="until Ctrl+C or SIGTERM")
    if calibration_duration is not None and not calibration_duration > 0:
        raise exits.UsageError(
            f"--calibration-duration {calibration_duration:g}: must be a number of seconds > 0"
        )
    if leverage is not None and (leverage != int(leverage) or leverage < 1):
        raise exits.UsageError(
            f"--leverage {leverage:g}: the venue takes a whole leverage >= 1, e.g. --leverage 3"
        )
    if force and no_auto_paper:
        raise exits.UsageError("--force and --no-auto-paper contradict; pass one of them")
    flags.paper_checkpoint(paper_checkpoint)
    given = {
        "risk": {
            "max_position": max_position,
            "max_position_usd": max_position_usd,
            "max_drawdown": max_drawdown,
            "max_daily_loss_usd": max_daily_loss,
            "leverage": leverage,
        },
        "live": {
            "base_url": base_url,
            "network": network,
            "calibration_duration_s": calibration_duration,
            "flatten_on_kill": True if flatten_on_kill else None,
        },
        "strategy": {"spread_profile": spread_profile},
    }
    cfg = resolve_config(config, given)
    if list_dexs:  # the seed's "Check --list-dexs for available DEXs and their constraints"
        from framework.hyperliquid.commands import list_dexs_command
        from framework.hyperliquid.venue import Venue as VenueSpec

        return list_dexs_command(VenueSpec.from_live(cfg.live))
    from framework.environments.views import SessionViews, view_options

    options = view_options(
        quiet=quiet, dashboard=dashboard, dashboard_port=dashboard_port, capture=capture
    )
    signer = load_signer(cfg.live)
    if dry_run:
        from framework.live.dryrun import dry_run as dry

        return asyncio.run(
            dry(
                asset,
                dex,
                cfg,
                signer=signer,
                checkpoint_dir=checkpoint_dir,
                paper_checkpoint=paper_checkpoint,
                force=force,
                skip_calibration=skip_calibration or force,
                no_auto_paper=no_auto_paper,
            )
        )
    from framework.live.lock import SessionLock

    coin_guess = f"{dex}:{asset}" if dex and ":" not in asset else asset
    out = Path(out) if out is not None else default_out(coin_guess)
    # One session per account (and signer: its nonces), before anything connects.
    with SessionLock([cfg.live.account_address or signer.address, signer.address]):
        exits.note_session(out)
        views = SessionViews(options)  # binds the dashboard port before anything is sent
        try:
            return run_pipeline(
                asset=asset,
                dex=dex,
                cfg=cfg,
                out=out,
                checkpoint_dir=Path(checkpoint_dir),
                paper_checkpoint=paper_checkpoint,
                force=force,
                skip_calibration=skip_calibration or force,
                no_auto_paper=no_auto_paper,
                duration_s=duration_s,
                signer=signer,
                views=views,
            )
        except LiveInterrupted as exc:
            import signal

            print(f"stopped ({exc.signal}) before the session started; nothing was sent")
            return 128 + signal.Signals[exc.signal].value
        finally:
            views.close()
