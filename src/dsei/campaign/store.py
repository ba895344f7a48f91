"""The campaign result store: one SQLite file (WAL mode), one row per (candidate, stage, model, settings).

Key = structure fingerprint + stage + model + hash of the stage settings. Each finished stage is committed
in its own transaction the moment it finishes, so a run killed at any moment (SIGKILL included) loses at
most the results in flight; a rerun computes only what is missing. Failures are stored too (type and
message) so a rerun does not retry a structure that failed deterministically, unless asked to
(``retry_failed``).

A file that is not a dsei store (a foreign SQLite database, a text file, a truncated/corrupted file) gives
one clear :class:`~dsei.errors.InputError`, never silent reuse.

Why SQLite and not a directory of JSON files: atomic commits (WAL) survive SIGKILL without partial files,
concurrent writers from a process pool are serialised by SQLite's locking, and one file is easy to move.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dsei.errors import InputError

STORE_FORMAT = "dsei-campaign-store"
STORE_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS dsei_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS candidates (
    candidate_id TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    formula TEXT NOT NULL,
    source TEXT NOT NULL,
    structure_json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS results (
    key TEXT PRIMARY KEY,
    candidate_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    stage TEXT NOT NULL,
    model TEXT NOT NULL,
    settings_hash TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'failed', 'skipped')),
    result_json TEXT,
    error_type TEXT,
    error_message TEXT,
    elapsed_s REAL,
    finished_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS results_by_stage ON results(stage, candidate_id);
"""


def settings_hash(settings: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:16]


def result_key(fingerprint: str, stage: str, model: str, settings: dict[str, Any]) -> str:
    return f"{fingerprint}|{stage}|{model}|{settings_hash(settings)}"


@dataclass
class StageRecord:
    candidate_id: str
    stage: str
    status: str
    result: dict[str, Any] | None
    error_type: str | None
    error_message: str | None
    elapsed_s: float | None


class ResultStore:
    """SQLite-backed store. Use as a context manager or call :meth:`close`."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        existed = self.path.exists() and self.path.stat().st_size > 0
        try:
            self.conn = sqlite3.connect(self.path, timeout=60.0, isolation_level=None)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            if existed:
                self._check_existing()
            else:
                self._create()
        except sqlite3.DatabaseError as exc:
            raise InputError(self.path, f"not a usable dsei result store ({exc}); move it away or choose another --out") from exc

    # -- schema -----------------------------------------------------------------------------------
    def _create(self) -> None:
        with self.conn:
            self.conn.executescript("BEGIN;" + _SCHEMA + "COMMIT;")
            self.conn.execute("INSERT OR REPLACE INTO dsei_meta VALUES ('format', ?)", (STORE_FORMAT,))
            self.conn.execute("INSERT OR REPLACE INTO dsei_meta VALUES ('version', ?)", (str(STORE_VERSION),))
            self.conn.execute("INSERT OR REPLACE INTO dsei_meta VALUES ('created', ?)", (time.strftime("%Y-%m-%dT%H:%M:%S"),))

    def _check_existing(self) -> None:
        check = self.conn.execute("PRAGMA quick_check").fetchone()
        if not check or check[0] != "ok":
            raise InputError(self.path, f"result store is corrupted (sqlite quick_check: {check[0] if check else 'no answer'})")
        tables = {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "dsei_meta" not in tables:
            raise InputError(self.path, "is an SQLite database but not a dsei result store; refusing to reuse it")
        meta = dict(self.conn.execute("SELECT key, value FROM dsei_meta"))
        if meta.get("format") != STORE_FORMAT:
            raise InputError(self.path, "is not a dsei result store (wrong format marker); refusing to reuse it")
        if int(meta.get("version", "0")) != STORE_VERSION:
            raise InputError(self.path, f"result store version {meta.get('version')} is not {STORE_VERSION}; start a new store")
        if not {"candidates", "results"} <= tables:
            raise InputError(self.path, "result store is missing tables (corrupted?)")

    # -- candidates -------------------------------------------------------------------------------
    def add_candidate(self, candidate_id: str, fingerprint: str, formula: str, source: str, structure: dict) -> None:
        self.conn.execute(
            "INSERT OR IGNORE INTO candidates VALUES (?, ?, ?, ?, ?)",
            (candidate_id, fingerprint, formula, source, json.dumps(structure)),
        )

    def candidates(self) -> list[dict[str, Any]]:
        rows = self.conn.execute("SELECT candidate_id, fingerprint, formula, source FROM candidates ORDER BY rowid")
        return [dict(zip(("candidate_id", "fingerprint", "formula", "source"), r, strict=True)) for r in rows]

    # -- results ----------------------------------------------------------------------------------
    def has(self, key: str, retry_failed: bool = False) -> bool:
        row = self.conn.execute("SELECT status FROM results WHERE key = ?", (key,)).fetchone()
        if row is None:
            return False
        return not (retry_failed and row[0] == "failed")

    def get(self, key: str) -> StageRecord | None:
        row = self.conn.execute(
            "SELECT candidate_id, stage, status, result_json, error_type, error_message, elapsed_s FROM results WHERE key = ?",
            (key,),
        ).fetchone()
        if row is None:
            return None
        return StageRecord(row[0], row[1], row[2], json.loads(row[3]) if row[3] else None, row[4], row[5], row[6])

    def put(
        self,
        key: str,
        candidate_id: str,
        fingerprint: str,
        stage: str,
        model: str,
        settings: dict[str, Any],
        status: str,
        result: dict[str, Any] | None = None,
        error_type: str | None = None,
        error_message: str | None = None,
        elapsed_s: float | None = None,
    ) -> None:
        """Commit one stage result at once (autocommit): durable before the next one starts."""
        self.conn.execute(
            "INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                key,
                candidate_id,
                fingerprint,
                stage,
                model,
                settings_hash(settings),
                status,
                json.dumps(result) if result is not None else None,
                error_type,
                error_message,
                elapsed_s,
                time.time(),
            ),
        )

    def records(self, stage: str | None = None) -> Iterator[StageRecord]:
        sql = "SELECT candidate_id, stage, status, result_json, error_type, error_message, elapsed_s FROM results"
        args: tuple = ()
        if stage:
            sql += " WHERE stage = ?"
            args = (stage,)
        for row in self.conn.execute(sql + " ORDER BY rowid", args):
            yield StageRecord(row[0], row[1], row[2], json.loads(row[3]) if row[3] else None, row[4], row[5], row[6])

    def count(self, stage: str | None = None, status: str | None = None) -> int:
        sql, args = "SELECT COUNT(*) FROM results WHERE 1=1", []
        if stage:
            sql += " AND stage = ?"
            args.append(stage)
        if status:
            sql += " AND status = ?"
            args.append(status)
        return int(self.conn.execute(sql, args).fetchone()[0])

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
