"""``market-maker``: the command line.  Flags only; the work happens in ``framework``.

Run ``market-maker --help`` (or ``python cli.py --help`` from a checkout).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from typer._click.exceptions import (  # typer vendors click
    ClickException,
    NoArgsIsHelpError,
    UsageError,
)
from typer.core import TyperGroup

# One OpenBLAS thread, set before anything imports numpy.  Nothing the engine runs may
# use BLAS (its sums depend on the CPU), and OpenBLAS's idle threads spin on
# sched_yield after start-up: 0.2-0.3 s of CPU of every backtest, taken from the
# journal's decoding thread and from the other workers of a sweep.  An explicit setting
# in the environment wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


class ErrorBoundary(TyperGroup):
    """The one place errors become a line on stderr and an exit code (see framework.exits).

    Usage errors of the flag parser keep exit 2 in the same ``error: ...`` style; the
    project's own errors print their message; anything else is a bug, reported in one
    line with the path of its traceback (``--debug`` prints it instead).
    """

    def make_context(self, info_name: Any, args: Any, parent: Any = None, **extra: Any) -> Any:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except NoArgsIsHelpError:
            raise
        except ClickException as exc:  # a bad global option
            raise typer.Exit(_usage(exc, info_name or "market-maker")) from None

    def invoke(self, ctx: Any) -> Any:
        from framework import exits

        exits.reset(debug=bool(ctx.params.get("debug")))
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, NoArgsIsHelpError):
            raise
        except ClickException as exc:
            raise typer.Exit(_usage(exc, ctx.command_path)) from None
        except KeyboardInterrupt:
            print("stopped (Ctrl+C)", file=sys.stderr)
            raise typer.Exit(130) from None
        except BrokenPipeError:
            # The reader of stdout left (`| head`): not an error, as for any Unix tool.
            # Python would complain again at exit flushing stdout, so point it at devnull.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(141) from None  # 128 + SIGPIPE, as a shell reports it
        except Exception as exc:
            code = exits.exit_code(exc)
            if code is None:
                code = exits.report_unexpected(exc, sys.argv)
            else:
                exits.report(exc, code)
            raise typer.Exit(code) from None


def _usage(exc: ClickException, command: str) -> int:
    """A flag parser error as one ``error: ...`` line; its exit code (2 for usage)."""
    ctx = getattr(exc, "ctx", None)
    where = ctx.command_path if ctx is not None else command
    print(f"error: {exc.format_message()} (see {where} --help)", file=sys.stderr)
    return exc.exit_code


app = typer.Typer(
    cls=ErrorBoundary,
    help="Event-sourced market making on Hyperliquid perps: record, backtest, paper, live. "
    "Exit codes: 0 done, 1 runtime failure, 2 usage or config error.",
    no_args_is_help=True,
    invoke_without_command=True,  # `market-maker --list-dexs`
    pretty_exceptions_enable=False,
    add_completion=False,
)

# --network / --base-url: the venue (framework.hyperliquid.venue), for every command
# that connects; also MM_LIVE_NETWORK / MM_LIVE_BASE_URL or [live] in a --config file.
Network = Annotated[
    str | None,
    typer.Option(
        "--network",
        help="mainnet | testnet: the venue and the signing network (default: "
        "MM_LIVE_NETWORK, else the config's live.network, else mainnet).",
    ),
]
BaseUrl = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        help="API base URL overriding the network's (a local sim-exchange, a proxy).",
    ),
]
Testnet = Annotated[bool, typer.Option("--testnet", hidden=True, help="Same as --network testnet.")]


def _network(network: str | None, testnet: bool) -> str | None:
    """``--network``, or ``testnet`` for the older ``--testnet`` flag."""
    return network if network is not None or not testnet else "testnet"


@app.callback()
def _options(
    ctx: typer.Context,
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            envvar="MARKET_MAKER_DEBUG",
            help="Print the full traceback of an error instead of one line "
            "(market-maker --debug COMMAND ...).",
        ),
    ] = False,
    list_dexs: Annotated[
        bool,
        typer.Option(
            "--list-dexs",
            help="List the perp dexes, their assets and constraints, then exit "
            "(as `market-maker list-dexs`; with --network / --base-url before it).",
        ),
    ] = False,
    network: Network = None,
    base_url: BaseUrl = None,
) -> None:
    """Event-sourced market making on Hyperliquid perps."""
    # --debug is read by ErrorBoundary.invoke from the context
    if list_dexs:
        from framework.hyperliquid.commands import list_dexs_command
        from framework.hyperliquid.venue import resolve_venue

        raise typer.Exit(list_dexs_command(resolve_venue(network, base_url)))
    if network is not None or base_url is not None:
        from framework import exits

        raise exits.UsageError(
            "--network / --base-url before the command only go with --list-dexs; put them "
            "after the command (market-maker status --network testnet ...)"
        )
    if ctx.invoked_subcommand is None:
        raise UsageError("Missing command.", ctx)


JournalDir = Annotated[Path, typer.Argument(help="Journal directory (holds session.json).")]


# -- journal: replay, sql -----------------------------------------------------------------
@app.command()
def replay(
    journal: JournalDir,
    verify: Annotated[
        bool, typer.Option("--verify", help="Compare every regenerated output row.")
    ] = False,
    until: Annotated[
        int | None,
        typer.Option("--until", min=0, help="Stop after this seq and print the state (JSON)."),
    ] = None,
) -> None:
    """Re-run a journal's inputs through the engine (and prove it decides the same)."""
    from framework.environments.replay import replay_command

    raise typer.Exit(replay_command(journal, verify=verify, until=until))


@app.command()
def sql(
    journal: JournalDir,
    query: Annotated[str | None, typer.Argument(help="SQL; omit for a prompt.")] = None,
    format: Annotated[str, typer.Option("--format", "-f", help="table | csv | json")] = "table",
) -> None:
    """Run DuckDB over a journal, one view per table."""
    from framework.journal.duck import sql_command

    raise typer.Exit(sql_command(journal, query, fmt=format))


@app.command()
def readiness(
    journal: JournalDir,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    require: Annotated[
        str | None,
        typer.Option("--require", help="ready | marginal: exit 1 unless the verdict meets it."),
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="TOML config ([calibration] thresholds).")
    ] = None,
    up_to_seq: Annotated[
        int | None, typer.Option("--up-to-seq", help="Assess the journal up to this seq.")
    ] = None,
) -> None:
    """The calibration verdict (Ready / Marginal / Insufficient) of a session, by DuckDB."""
    from framework.calibration.readiness import readiness_command

    raise typer.Exit(
        readiness_command(
            journal, as_json=as_json, require=require, config=config, up_to_seq=up_to_seq
        )
    )


@app.command()
def report(
    journal: JournalDir,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="HTML file to write (default: DIR/report.html)."),
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="TOML config (its \\[calibration] thresholds).")
    ] = None,
) -> None:
    """Write a session's report: one self-contained HTML file of tables and plots."""
    from framework.report import report_command

    raise typer.Exit(report_command(journal, out=out, config=config))


# -- recordings: import, synth (issue 3) ----------------------------------------------------


@app.command()
def synth(
    out: Annotated[Path, typer.Option("--out", help="Journal directory to create.")],
    asset: Annotated[
        str, typer.Option("--asset", help="HYPE, BTC, ETH, SOL, or any with --price.")
    ] = "HYPE",
    hours: Annotated[float, typer.Option("--hours", help="Length of the session.")] = 2.0,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same tables.")] = 7,
    dex: Annotated[
        str, typer.Option("--dex", help="HIP-3 dex name (the coin becomes dex:ASSET).")
    ] = "",
    start: Annotated[
        str | None, typer.Option("--start", help="Session start, ISO-8601 (default 2026-01-01Z).")
    ] = None,
    price: Annotated[
        float | None, typer.Option("--price", help="Start price (needed for unknown assets).")
    ] = None,
    sz_decimals: Annotated[
        int | None, typer.Option("--sz-decimals", help="szDecimals (needed for unknown assets).")
    ] = None,
) -> None:
    """Generate a synthetic, seeded Hyperliquid recording (book, trades, bbo, asset_ctx)."""
    import time

    from framework.synth import SynthParamError, params_for, parse_start, write_synthetic

    try:
        params = params_for(
            asset,
            hours=hours,
            seed=seed,
            dex=dex,
            start_ns=parse_start(start),
            start_px=price,
            sz_decimals=sz_decimals,
        )
        t0 = time.perf_counter()
        rows = write_synthetic(out, params)
    except SynthParamError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    elapsed = time.perf_counter() - t0
    total = sum(rows.values())
    typer.echo(
        f"wrote {out}: {rows} ({total} rows in {elapsed:.1f} s, {total / elapsed:,.0f} rows/s)"
    )


@app.command("import")
def import_(
    paths: Annotated[
        list[Path],
        typer.Argument(help="Recording files or directories (raw WS capture, official archive)."),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="New journal directory.")],
    asset: Annotated[
        str | None,
        typer.Option("--asset", help="Coin to import (BTC, dex:COIN); default: the first seen."),
    ] = None,
    sz_decimals: Annotated[
        int | None,
        typer.Option(
            "--sz-decimals",
            help="The coin's szDecimals from the venue's meta (list-dexs prints it); "
            "needed for coins the importer does not know (it knows BTC, ETH, SOL and HYPE; "
            "HPOS and LOOM unverified).",
        ),
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 1 if any line had a problem.")
    ] = False,
) -> None:
    """Import recorded WS market data into a journal (format detected from content).

    Exit 0: imported; 1: a file was truncated or corrupt (the rows before the break are
    kept), or any problem with --strict; 2: nothing imported.
    """
    from framework.recordings.importer import import_command

    raise typer.Exit(
        import_command(paths, out, asset=asset, sz_decimals=sz_decimals, strict=strict)
    )


# -- hyperliquid: list-dexs, record, sim-exchange (issue 4) ---------------------------------
@app.command("list-dexs")
def list_dexs(
    network: Network = None,
    base_url: BaseUrl = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="TOML config (live.network, live.base_url).")
    ] = None,
    testnet: Testnet = False,
) -> None:
    """List the perp dexes (main + HIP-3), their assets with asset ids, and constraints."""
    from framework.hyperliquid.commands import list_dexs_command
    from framework.hyperliquid.venue import resolve_venue

    raise typer.Exit(list_dexs_command(resolve_venue(_network(network, testnet), base_url, config)))


@app.command()
def record(
    asset: Annotated[str, typer.Option("--asset", help="Coin: BTC, or xyz:TSLA.")],
    duration: Annotated[float, typer.Option("--duration", help="Seconds to record.")],
    out: Annotated[Path, typer.Option("--out", help="New journal directory.")],
    dex: Annotated[str, typer.Option("--dex", help="HIP-3 dex name ('' = main).")] = "",
    network: Network = None,
    base_url: BaseUrl = None,
    testnet: Testnet = False,
) -> None:
    """Record market data (book, trades, bbo, asset ctx, connection events) into a journal."""
    from framework.hyperliquid.commands import record_command
    from framework.hyperliquid.venue import resolve_venue

    venue = resolve_venue(_network(network, testnet), base_url)
    raise typer.Exit(record_command(asset, dex, duration, out, venue))


# -- account and config: status, generate-config, validate-config (issue 12) ----------------
@app.command()
def status(
    address: Annotated[
        str | None,
        typer.Option(
            "--address",
            help="Account address (read-only: no key needed). Default: live.account_address "
            "of the config or MM_LIVE_ACCOUNT_ADDRESS, else the key's address "
            "(HL_PRIVATE_KEY or the live.keystore file).",
        ),
    ] = None,
    network: Network = None,
    base_url: BaseUrl = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="TOML config (the live and risk sections).")
    ] = None,
    dex: Annotated[
        list[str] | None,
        typer.Option("--dex", help="Only the main dex and this HIP-3 dex (repeatable)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """Show the account's positions, balances, open orders and rate-limit headroom."""
    from framework.hyperliquid.status import status_command

    raise typer.Exit(
        status_command(
            address=address,
            network=network,
            base_url=base_url,
            config=config,
            dexes=dex,
            as_json=as_json,
        )
    )


@app.command("generate-config")
def generate_config() -> None:
    """Print a commented TOML config: every option of every section at its default."""
    from framework.configfile import generate_config as generate

    sys.stdout.write(generate())


@app.command("validate-config")
def validate_config(
    file: Annotated[
        str | None,
        typer.Argument(help="TOML config file, or - for stdin; omit to check the environment."),
    ] = None,
) -> None:
    """Check a config (and the MM_* environment variables): exit 0 if valid, else 1 with
    one line per problem naming the field, the value and the fix."""
    from framework.configfile import validate_config_command

    raise typer.Exit(validate_config_command(file))


@app.command("sim-exchange")
def sim_exchange(
    port: Annotated[int, typer.Option("--port", help="Loopback port; 0 = a free one.")] = 3001,
    recording: Annotated[
        Path | None,
        typer.Option(
            "--recording",
            help="Journal directory driving the market (default: the bundled "
            "recordings/sample-hype, looped).",
        ),
    ] = None,
    speed: Annotated[
        float, typer.Option("--speed", help="Replay speed factor; 0 = paused (POST /admin/step).")
    ] = 1.0,
    synthetic: Annotated[
        bool, typer.Option("--synthetic", help="Drive the market from generated data.")
    ] = False,
    asset: Annotated[
        str | None,
        typer.Option("--asset", help="Coin of the --synthetic market (HYPE, BTC, ETH, SOL)."),
    ] = None,
    seed: Annotated[
        int, typer.Option("--seed", min=0, help="Seed of the synthetic market (>= 0).")
    ] = 0,
    mainnet: Annotated[
        bool, typer.Option("--mainnet", help="Verify signatures as mainnet (default testnet).")
    ] = False,
    balance: Annotated[
        float, typer.Option("--balance", help="USDC every new account starts with.")
    ] = 100_000.0,
    deposit: Annotated[
        list[str] | None, typer.Option("--deposit", help="ADDRESS=USDC starting balance.")
    ] = None,
    fault: Annotated[
        list[str] | None,
        typer.Option(
            "--fault", help="Fault at start: stall:S, 429:S, reject:N, delay:MS, drop, malformed."
        ),
    ] = None,
    no_loop: Annotated[
        bool, typer.Option("--no-loop", help="Stop the market at the recording's end.")
    ] = False,
    auto_accounts: Annotated[
        bool,
        typer.Option("--auto-accounts", help="Fund any recovered signer (hides signing bugs)."),
    ] = False,
) -> None:
    """Run the local Hyperliquid exchange simulator (HTTP /info, /exchange, WS /ws)."""
    from framework.hyperliquid.simulator.server import sim_exchange_command

    raise typer.Exit(
        sim_exchange_command(
            port=port,
            recording=recording,
            speed=speed,
            synthetic=synthetic,
            asset=asset,
            seed=seed,
            mainnet=mainnet,
            balance=balance,
            deposits=deposit or [],
            faults=fault or [],
            loop=not no_loop,
            auto_accounts=auto_accounts,
        )
    )


@app.command()
def compare(
    a: Annotated[Path, typer.Argument(help="Session A's journal directory.")],
    b: Annotated[Path, typer.Argument(help="Session B's journal directory.")],
    json_: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
    time_tolerance: Annotated[
        float,
        typer.Option("--time-tolerance", help="Seconds two fills may be apart to match."),
    ] = 1.0,
    price_tolerance_bps: Annotated[
        float,
        typer.Option("--price-tolerance-bps", help="Bps two fills' prices may differ to match."),
    ] = 2.0,
) -> None:
    """Two sessions side by side: fills matched, fill rate, markouts, PnL decomposition,
    where they diverge first (differences are B - A)."""
    from framework.compare import compare_command

    raise typer.Exit(
        compare_command(
            a,
            b,
            as_json=json_,
            time_tolerance_s=time_tolerance,
            price_tolerance_bps=price_tolerance_bps,
        )
    )


# -- trading: backtest, paper (issue 5) -----------------------------------------------------
ConfigFile = Annotated[
    Path | None, typer.Option("--config", help="TOML config (strategy, risk, fills, ...).")
]
SpreadProfile = Annotated[
    str | None,
    typer.Option("--spread-profile", help="default (40-50 bps), hip3 (15-25), aggressive (10-20)."),
]
EngineSeed = Annotated[int, typer.Option("--seed", min=0, help="Engine seed (>= 0).")]
Quiet = Annotated[bool, typer.Option("--quiet", help="No live status in the terminal.")]
Dashboard = Annotated[
    bool,
    typer.Option("--dashboard", help="Serve a read-only live dashboard on http://127.0.0.1:3000/."),
]
DashboardPort = Annotated[
    int | None,
    typer.Option(
        "--dashboard-port", help="The dashboard's port on 127.0.0.1 (default 3000; 0 = any free)."
    ),
]
Capture = Annotated[
    Path | None,
    typer.Option(
        "--capture",
        help="Save a PNG of the dashboard into DIR every 30 s and at the end "
        "(headless Chromium; serves the dashboard).",
    ),
]


@app.command()
def backtest(
    recording: Annotated[Path, typer.Option("--recording", help="Recorded journal to run over.")],
    config: ConfigFile = None,
    spread_profile: SpreadProfile = None,
    queue_model: Annotated[
        str | None, typer.Option("--queue-model", help="conservative | risk_averse | prob.")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Output journal (default: a new out/backtest-<recording>-<seed>[-<n>]).",
        ),
    ] = None,
    seed: EngineSeed = 0,
    quiet: Quiet = False,
    resequence: Annotated[
        bool,
        typer.Option(
            "--resequence",
            help="Rewrite the inputs under new seqs instead of linking the recording's files.",
        ),
    ] = False,
    paper_checkpoint: Annotated[
        Path | None,
        typer.Option("--paper-checkpoint", help="Start from this prior (prior.json or its dir)."),
    ] = None,
    save_prior: Annotated[
        bool,
        typer.Option(
            "--save-prior", help="Save this session's prior under --checkpoint-dir at the end."
        ),
    ] = False,
    checkpoint_dir: Annotated[
        Path, typer.Option("--checkpoint-dir", help="Where priors live: DIR/paper/<coin>/.")
    ] = Path("checkpoints"),
    allow_incomplete: Annotated[
        bool,
        typer.Option(
            "--allow-incomplete",
            help="Run over a recording with parts missing or never closed (warns; recorded).",
        ),
    ] = False,
) -> None:
    """Run the paper engine over a recording as fast as one core goes; journal everything."""
    from framework import exits, flags
    from framework.environments.backtest import backtest_command, default_out

    source = flags.journal_dir("--recording", recording)
    flags.spread_profile(spread_profile)
    flags.queue_model(queue_model)
    flags.paper_checkpoint(paper_checkpoint)
    warning = flags.coin_override(config, source.coin or source.asset, "the recording")
    if warning:
        exits.warn(warning)
    out = out if out is not None else default_out(recording, seed)
    exits.note_session(out)

    raise typer.Exit(
        backtest_command(
            recording,
            config=config,
            spread_profile=spread_profile,
            queue_model=queue_model,
            out=out,
            seed=seed,
            progress=not quiet,
            resequence=resequence,
            allow_incomplete=allow_incomplete,
            paper_checkpoint=paper_checkpoint,
            save_prior=save_prior,
            checkpoint_dir=checkpoint_dir,
        )
    )


@app.command()
def sweep(
    recording: Annotated[
        list[str],
        typer.Option(
            "--recording",
            help="Recorded journal: a path every worker reads, or a URI pyarrow opens "
            "(s3://...); repeat for several.",
        ),
    ],
    space: Annotated[
        Path, typer.Option("--space", help="TOML space file: config keys and their values.")
    ],
    search: Annotated[str, typer.Option("--search", help="grid | random | optuna.")] = "grid",
    trials: Annotated[
        int | None,
        typer.Option("--trials", help="Trials to run (random, optuna: 20; grid: all)."),
    ] = None,
    objective: Annotated[
        str,
        typer.Option(
            "--objective", help="Result figure to optimise (net_pnl_usd; min:KEY, max:KEY)."
        ),
    ] = "net_pnl_usd",
    seed: Annotated[
        int,
        typer.Option(
            "--seed", min=0, help="Fixes what the search samples; every trial's engine seed."
        ),
    ] = 0,
    address: Annotated[
        str | None,
        typer.Option("--address", help="Ray cluster (auto, ray://head:10001); default: local."),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option("--workers", help="Trials at once (default: every CPU of Ray)."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Sweep directory (default: a new out/sweep-<space>-<seed>)."),
    ] = None,
    keep: Annotated[
        str, typer.Option("--keep", help="journal (every table) | summary (manifest only).")
    ] = "journal",
    resume: Annotated[
        bool, typer.Option("--resume", help="Finish the sweep in --out, skipping done trials.")
    ] = False,
    quiet: Quiet = False,
) -> None:
    """Backtest recordings under many parameter sets on Ray; results.parquet and a report."""
    from framework.sweep.command import sweep_command

    raise typer.Exit(
        sweep_command(
            recordings=recording,
            space=space,
            search=search,
            trials=trials,
            objective=objective,
            seed=seed,
            address=address,
            workers=workers,
            out=out,
            keep=keep,
            resume=resume,
            quiet=quiet,
        )
    )


@app.command()
def paper(
    asset: Annotated[str, typer.Option("--asset", help="Coin to trade (HYPE, BTC, dex:COIN).")],
    duration: Annotated[
        float, typer.Option("--duration", help="Seconds to run; 0 = until Ctrl+C or SIGTERM.")
    ] = 0.0,
    dex: Annotated[str, typer.Option("--dex", help="HIP-3 dex name (hyena, ...).")] = "",
    spread_profile: SpreadProfile = None,
    network: Network = None,
    base_url: BaseUrl = None,
    config: ConfigFile = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Journal directory (default: a new out/paper-<coin>-<time>)."),
    ] = None,
    seed: EngineSeed = 0,
    quiet: Annotated[
        bool,
        typer.Option("--quiet", help="No live status in the terminal (the log is in session.log)."),
    ] = False,
    paper_checkpoint: Annotated[
        Path | None,
        typer.Option("--paper-checkpoint", help="Start from this prior (prior.json or its dir)."),
    ] = None,
    checkpoint_dir: Annotated[
        Path,
        typer.Option(
            "--checkpoint-dir", help="Priors go to DIR/paper/<coin>/prior.json (every 5 min, end)."
        ),
    ] = Path("checkpoints"),
    dashboard: Dashboard = False,
    dashboard_port: DashboardPort = None,
    capture: Capture = None,
    report: Annotated[
        bool,
        typer.Option("--report", help="Write the HTML report to <journal>/report.html at the end."),
    ] = False,
) -> None:
    """Paper-trade on live market data with simulated fills; journal everything."""
    from framework.environments.paper import paper_command
    from framework.hyperliquid.venue import resolve_venue

    venue = resolve_venue(network, base_url, config)
    raise typer.Exit(
        paper_command(
            asset,
            dex=dex,
            duration_s=duration,
            base_url=venue.base_url,
            config=config,
            spread_profile=spread_profile,
            out=out,
            seed=seed,
            progress=not quiet,
            paper_checkpoint=paper_checkpoint,
            checkpoint_dir=checkpoint_dir,
            dashboard=dashboard,
            dashboard_port=dashboard_port,
            capture=capture,
            report=report,
        )
    )


@app.command()
def run(
    asset: Annotated[
        str,
        typer.Option(
            "--asset", help="Coin to trade (HYPE, BTC, dex:COIN); required but with --list-dexs."
        ),
    ] = "",
    dex: Annotated[str, typer.Option("--dex", help="HIP-3 dex name (hyena, ...).")] = "",
    config: ConfigFile = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Journal directory (default: a new out/live-<coin>-<time>)."),
    ] = None,
    checkpoint_dir: Annotated[
        Path,
        typer.Option(
            "--checkpoint-dir",
            help="Priors (DIR/paper/<coin>/prior.json), live state and nonces (DIR/live/).",
        ),
    ] = Path("checkpoints"),
    paper_checkpoint: Annotated[
        Path | None,
        typer.Option("--paper-checkpoint", help="The prior to assess (prior.json or its dir)."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Cold start with no prior (implies --skip-calibration).")
    ] = False,
    skip_calibration: Annotated[
        bool, typer.Option("--skip-calibration", help="Live with whatever prior exists (no gate).")
    ] = False,
    no_auto_paper: Annotated[
        bool, typer.Option("--no-auto-paper", help="Refuse to start without a calibrated prior.")
    ] = False,
    calibration_duration: Annotated[
        float | None,
        typer.Option("--calibration-duration", help="Auto-paper seconds (default 1800)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Connect and check everything; place nothing.")
    ] = False,
    max_position: Annotated[
        float | None, typer.Option("--max-position", help="Position cap, coins.")
    ] = None,
    max_position_usd: Annotated[
        float | None, typer.Option("--max-position-usd", help="Position cap, USD.")
    ] = None,
    max_drawdown: Annotated[
        float | None,
        typer.Option("--max-drawdown", help="Kill switch at this drawdown (default 0.05)."),
    ] = None,
    max_daily_loss: Annotated[
        float | None, typer.Option("--max-daily-loss", help="Kill switch at this loss a day, USD.")
    ] = None,
    leverage: Annotated[
        float | None, typer.Option("--leverage", help="Leverage set on the venue at start.")
    ] = None,
    flatten_on_kill: Annotated[
        bool,
        typer.Option("--flatten-on-kill", help="The kill switch also closes the position (IOC)."),
    ] = False,
    base_url: Annotated[
        str | None,
        typer.Option("--base-url", help="API base URL (a local sim-exchange), over --network."),
    ] = None,
    network: Annotated[
        str | None, typer.Option("--network", help="mainnet | testnet (signing and URL).")
    ] = None,
    spread_profile: SpreadProfile = None,
    duration: Annotated[
        float, typer.Option("--duration", help="Seconds of live trading; 0 = until Ctrl+C.")
    ] = 0.0,
    list_dexs: Annotated[
        bool, typer.Option("--list-dexs", help="List the dexes and their assets, then exit.")
    ] = False,
    quiet: Quiet = False,
    dashboard: Dashboard = False,
    dashboard_port: DashboardPort = None,
    capture: Capture = None,
) -> None:
    """Live market making, gated by the calibration verdict (auto-papers when needed)."""
    from framework.live.pipeline import run_command

    raise typer.Exit(
        run_command(
            asset=asset,
            dex=dex,
            config=config,
            out=out,
            checkpoint_dir=checkpoint_dir,
            paper_checkpoint=paper_checkpoint,
            force=force,
            skip_calibration=skip_calibration,
            no_auto_paper=no_auto_paper,
            calibration_duration=calibration_duration,
            dry_run=dry_run,
            max_position=max_position,
            max_position_usd=max_position_usd,
            max_drawdown=max_drawdown,
            max_daily_loss=max_daily_loss,
            leverage=leverage,
            flatten_on_kill=flatten_on_kill,
            base_url=base_url,
            network=network,
            spread_profile=spread_profile,
            duration_s=duration,
            list_dexs=list_dexs,
            quiet=quiet,
            dashboard=dashboard,
            dashboard_port=dashboard_port,
            capture=capture,
        )
    )


def _only(argv: list[str]) -> None:
    """Keep only the command ``argv`` names, when its first word is one.

    typer builds every command's parameters from its signature at each start (65-70 ms
    for the 17 commands, a third of a short command's run); the one being run is the only
    one needed.  Anything else (no command, a global option first, ``--help``, a
    misspelt command that deserves the list of suggestions) keeps them all.
    """
    if len(argv) < 2:
        return
    for info in app.registered_commands:
        if command_name(info) == argv[1]:
            app.registered_commands = [info]
            return


def command_name(info: Any) -> str | None:
    """The name a registered command is invoked by (typer's rule for an unnamed one)."""
    if info.name:
        return info.name
    return typer.main.get_command_name(info.callback.__name__) if info.callback else None


def main() -> None:
    _only(sys.argv)
    app()


if __name__ == "__main__":
    main()
