"""The quality and privacy report: one self-contained HTML page plus the JSON of its figures.

The figures come from :func:`synthdb.evaluate` (accuracy, distributions, associations, privacy,
ML utility) and from the model file's manifest (parameters, training curve, NULL policy,
epsilon ledger); this package only arranges and draws them.
"""

from synthdb.report.page import DatabaseReport, Report, build_database_report, build_report

__all__ = ["DatabaseReport", "Report", "build_database_report", "build_report"]
