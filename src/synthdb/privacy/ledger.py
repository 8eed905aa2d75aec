"""The epsilon ledger: every mechanism that looked at the data, what it cost, and the total.

Users of other tools distrust DP claims because preprocessing leaks and budgets are silently
eaten; here every release is an entry. Gaussian entries (the preprocessing histograms and
DP-SGD) compose in one Renyi-DP curve (see :mod:`synthdb.privacy.accounting`); the stability
thresholds of the vocabularies add their own small delta (``threshold_delta``), which is taken
from the stated delta before the RDP curve is converted. Entries with ``epsilon`` 0 record what
was *assumed public* rather than protected, so nobody has to guess.

The dictionary form is what the model file's ``manifest.json`` holds; :meth:`Ledger.recompute`
redoes the arithmetic from the recorded parameters alone.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from synthdb.privacy import accounting


@dataclass
class LedgerEntry:
    """One release: ``mechanism`` applied to ``target``, with its own (epsilon, delta)."""

    mechanism: str
    target: str
    epsilon: float
    delta: float = 0.0
    #: Gaussian noise std divided by the L2 sensitivity (the accountant's noise multiplier)
    noise_multiplier: float | None = None
    #: Poisson sampling rate (1.0: every row)
    sample_rate: float | None = None
    steps: int | None = None
    #: probability that a value held by one row passes the vocabulary threshold
    threshold_delta: float = 0.0
    accountant: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    note: str = ""

    @property
    def gaussian(self) -> tuple[float, float, int] | None:
        if self.noise_multiplier is None or self.sample_rate is None or self.steps is None:
            return None
        return (self.noise_multiplier, self.sample_rate, self.steps)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LedgerEntry:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class Ledger:
    """All entries of one model, composed at the stated ``delta``."""

    delta: float
    entries: list[LedgerEntry] = field(default_factory=list)
    accountant: str = accounting.ACCOUNTANT
    #: the budget the user asked for
    target_epsilon: float | None = None

    def add(self, entry: LedgerEntry) -> None:
        self.entries.append(entry)

    def mechanisms(self) -> list[tuple[float, float, int]]:
        return [g for e in self.entries if (g := e.gaussian) is not None]

    @property
    def threshold_delta(self) -> float:
        return sum(e.threshold_delta for e in self.entries)

    @property
    def pure_epsilon(self) -> float:
        """Epsilon of entries outside the RDP composition (none today; kept for Laplace)."""
        return sum(e.epsilon for e in self.entries if e.gaussian is None)

    @property
    def rdp_delta(self) -> float:
        """The part of ``delta`` left for converting the RDP curve to (epsilon, delta)."""
        return self.delta - self.threshold_delta

    @property
    def total_epsilon(self) -> float:
        """Everything composed: RDP for the Gaussian entries, plus the pure-epsilon entries."""
        return accounting.epsilon(self.mechanisms(), self.rdp_delta) + self.pure_epsilon

    def tables(self) -> dict[str, float]:
        """A database's entries by table (targets ``"TABLE: ..."``), each table's composed on
        their own: what the table would cost alone. The tables' figures add up to more than
        :attr:`total_epsilon`, which composes them all in one curve. Empty for one table's
        ledger (its targets ``"column: ..."`` name columns, not tables), whose dict is then
        unchanged."""
        if not any(e.mechanism == "privacy unit" for e in self.entries):
            return {}
        groups: dict[str, list[tuple[float, float, int]]] = {}
        for entry in self.entries:
            name, colon, _ = entry.target.partition(": ")
            if colon and (gaussian := entry.gaussian) is not None:
                groups.setdefault(name, []).append(gaussian)
        return {
            name: accounting.epsilon(mechanisms, self.rdp_delta)
            for name, mechanisms in groups.items()
        }

    def to_dict(self) -> dict[str, Any]:
        tables = self.tables()
        return {
            "accountant": self.accountant,
            "delta": self.delta,
            "target_epsilon": self.target_epsilon,
            "total_epsilon": self.total_epsilon,
            **({"tables": tables} if tables else {}),
            "composition": "Renyi DP over all Gaussian entries at delta minus the threshold "
            "deltas, plus the epsilons of any other entries",
            "entries": [e.to_dict() for e in self.entries],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Ledger:
        return cls(
            delta=float(data["delta"]),
            entries=[LedgerEntry.from_dict(e) for e in data.get("entries", [])],
            accountant=str(data.get("accountant", accounting.ACCOUNTANT)),
            target_epsilon=data.get("target_epsilon"),
        )

    def recompute(self) -> float:
        """The total from the recorded parameters alone (what a sceptical reader would do)."""
        return self.total_epsilon
