"""Daily token budgets per service or team, in SQLite so a pod's workers share one ledger.

A day is a UTC calendar day. A request is refused (429) once the budget's tokens for today are used up;
the request that crosses the line is still served, because its size is only known afterwards.
"""
from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path


def utc_day(now: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(now))


def next_reset(now: float) -> float:
    return (int(now) // 86400 + 1) * 86400.0


@dataclass(frozen=True)
class BudgetState:
    name: str
    limit: int
    used: int

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)


class TokenBudgets:
    def __init__(self, limits: dict[str, int], state_path: Path | None, limit_gauge, remaining_gauge,
                 clock=time.time) -> None:
        """`limit_gauge`/`remaining_gauge`: callables giving the gauge child for a budget name."""
        self.limits = dict(limits)
        self._clock = clock
        self._limit_gauge = limit_gauge
        self._remaining_gauge = remaining_gauge
        self._lock = threading.Lock()
        if state_path is not None:
            state_path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(state_path) if state_path else ":memory:", check_same_thread=False,
                                   isolation_level=None, timeout=5.0)
        self._db.execute("PRAGMA journal_mode=WAL" if state_path else "PRAGMA journal_mode=MEMORY")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS usage (budget TEXT NOT NULL, day TEXT NOT NULL, "
                         "tokens INTEGER NOT NULL, PRIMARY KEY (budget, day))")
        for name in self.limits:
            self._limit_gauge(name).set(self.limits[name])
            self._export(self.state(name))

    def state(self, name: str) -> BudgetState:
        day = utc_day(self._clock())
        with self._lock:
            row = self._db.execute("SELECT tokens FROM usage WHERE budget = ? AND day = ?", (name, day)).fetchone()
        return BudgetState(name, self.limits[name], row[0] if row else 0)

    def consume(self, name: str, tokens: int) -> BudgetState:
        day = utc_day(self._clock())
        with self._lock:
            row = self._db.execute("INSERT INTO usage (budget, day, tokens) VALUES (?, ?, ?) ON CONFLICT "
                                   "(budget, day) DO UPDATE SET tokens = tokens + excluded.tokens RETURNING tokens",
                                   (name, day, int(tokens))).fetchone()
        state = BudgetState(name, self.limits[name], row[0])
        self._export(state)
        return state

    def _export(self, state: BudgetState) -> None:
        self._remaining_gauge(state.name).set(state.remaining)

    def refresh_gauges(self) -> None:
        for name in self.limits:
            self._export(self.state(name))
