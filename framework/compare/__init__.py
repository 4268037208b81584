"""Two sessions side by side: ``market-maker compare A B`` (see :mod:`.compare`)."""

from framework.compare.compare import compare_command, compare_sessions, render, sql_text
from framework.compare.match import MatchRule, greedy_pairs

__all__ = [
    "MatchRule",
    "compare_command",
    "compare_sessions",
    "greedy_pairs",
    "render",
    "sql_text",
]
