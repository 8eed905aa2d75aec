"""synthdb: synthetic twins of tables and relational databases."""

from __future__ import annotations

__version__ = "0.1.0"
