"""The session report: one self-contained HTML file of tables and plots.

``market-maker report DIR`` (and ``paper --report`` at the end of a session) writes it.
The queries are the ``.sql`` files of this package (DuckDB over the journal), the data
behind each plot is :class:`framework.report.data.ReportData`, the plots are matplotlib
figures embedded as base64 PNG (:mod:`framework.report.plots`), and
:mod:`framework.report.html` writes the page.
"""

from framework.report.build import build_report, report_command, session_report

__all__ = ["build_report", "report_command", "session_report"]
