"""``market-maker``: the command line.  Flags only; the work happens in ``framework``.

Run ``market-maker --help`` (or ``python cli.py --help`` from a checkout).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="Event-sourced market making on Hyperliquid perps: record, backtest, paper, live.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

JournalDir = Annotated[Path, typer.Argument(help="Journal directory (holds session.json).")]


# -- journal: replay, sql -----------------------------------------------------------------
@app.command()
def replay(
    journal: JournalDir,
    verify: Annotated[
        bool, typer.Option("--verify", help="Compare every regenerated output row.")
    ] = False,
    until: Annotated[
        int | None, typer.Option("--until", help="Stop after this seq and print the state.")
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


# -- recordings: import, synth (issue 3) ----------------------------------------------------


# -- hyperliquid: list-dexs, record, sim-exchange (issue 4) ---------------------------------


# -- trading: backtest, paper (issue 5) -----------------------------------------------------


def main() -> None:
    app()


if __name__ == "__main__":
    main()
