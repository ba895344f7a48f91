"""The per-user result cache: one SQLite file (WAL mode) of JSON values keyed on (namespace, method signature, key).

Used by the chemistry caches (relaxed energies of phases computed on demand, mechanics and barriers of design
layers). Same pattern as the campaign's result store (:mod:`dsei.campaign.store`): every ``put`` is its own
transaction (``INSERT OR REPLACE``, autocommit), so a process killed at any moment (SIGKILL included) loses at
most the value it was writing, never what was committed before; concurrent writers (two ``dsei`` runs, a
process pool) are serialised by SQLite's locking with a busy timeout instead of overwriting each other's files,
as the former whole-file JSON rewrites did.

The ``signature`` part of a key is a hash of everything that changes the cached numbers (model, settings, the
method's defaults: :func:`signature`), so a value computed with other settings or by an older dsei with other
defaults is recomputed, never silently reused. Signatures are content hashes (sha256), stable across
processes and machines (Python's ``hash()`` is salted per process and must not be used for keys).

Where: ``$DSEI_CACHE`` or ``~/.cache/dsei`` (:func:`cache_dir`). Why SQLite rather than JSON files written to a
temporary file and renamed under a lock: it is in the standard library, its commits are atomic and durable
across a killed process, it needs no lock files of our own, and one put does not rewrite every other entry.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from dsei.errors import InputError

CACHE_FORMAT = "dsei-cache"
CACHE_VERSION = 1
#: seconds a writer waits for another writer's lock before giving up (SQLite busy timeout)
BUSY_TIMEOUT_S = 60.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS dsei_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
    namespace TEXT NOT NULL,
    signature TEXT NOT NULL,
    key TEXT NOT NULL,
    value_json TEXT NOT NULL,
    written_at REAL NOT NULL,
    PRIMARY KEY (namespace, signature, key)
);
"""

#: open connections of this process, per (pid, thread, file): kept open, because closing the last connection
#: to a WAL database checkpoints and deletes the WAL (an fsync per value: ~20 ms instead of ~1 ms)
_connections: dict[tuple[int, int, str], sqlite3.Connection] = {}
_lock = threading.Lock()


def cache_dir() -> Path:
    """``$DSEI_CACHE`` or ``~/.cache/dsei``."""
    return Path(os.environ.get("DSEI_CACHE", Path.home() / ".cache" / "dsei"))


def signature(*parts: Any) -> str:
    """A 16-hex-digit content hash of ``parts`` (their ``repr``: numbers, strings, tuples, sorted dicts)."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def defaults_of(fn: Callable, exclude: Iterable[str] = ("source", "progress")) -> tuple[tuple[str, Any], ...]:
    """The default arguments of ``fn`` as ``((name, default), ...)``: put them in a :func:`signature` so that a
    changed default of the method invalidates what it computed."""
    return tuple(
        (name, p.default)
        for name, p in inspect.signature(fn).parameters.items()
        if p.default is not inspect.Parameter.empty and name not in set(exclude)
    )


class Cache:
    """A key–value cache in one SQLite file. Connections are per process and thread (opened on first use, the
    file checked then), so an object is safe to use from threads and after ``fork``; values are anything
    :func:`json.dumps` takes."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    # -- connection ----------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        ident = (os.getpid(), threading.get_ident(), str(self.path.absolute()))
        conn = _connections.get(ident)
        if conn is not None and self.path.exists():
            return conn
        if conn is not None:  # the file was deleted meanwhile: start a new one
            conn.close()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise InputError(self.path, f"cannot open the dsei cache ({exc}); set DSEI_CACHE to a writable folder") from None
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            conn.execute("PRAGMA synchronous = NORMAL")  # with WAL: durable against a killed process
            with _lock:
                self._setup(conn)
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise InputError(
                self.path, f"not a usable dsei cache ({exc}); it only holds cached results: delete it, or set DSEI_CACHE elsewhere"
            ) from None
        _connections[ident] = conn
        return conn

    def _setup(self, conn: sqlite3.Connection) -> None:
        # journal_mode is stored in the file: switch only once (switching needs an exclusive lock)
        for attempt in range(50):
            try:
                if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("BEGIN IMMEDIATE")
                try:
                    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
                    if tables and "dsei_meta" not in tables:
                        raise sqlite3.DatabaseError("an SQLite database, but not a dsei cache")
                    for stmt in _SCHEMA.split(";"):
                        if stmt.strip():
                            conn.execute(stmt)
                    meta = dict(conn.execute("SELECT key, value FROM dsei_meta"))
                    if not meta:
                        conn.execute("INSERT INTO dsei_meta VALUES ('format', ?), ('version', ?)", (CACHE_FORMAT, str(CACHE_VERSION)))
                    elif meta.get("format") != CACHE_FORMAT:
                        raise sqlite3.DatabaseError("wrong format marker")
                    elif meta.get("version") != str(CACHE_VERSION):
                        raise sqlite3.DatabaseError(f"cache version {meta.get('version')}, this dsei writes {CACHE_VERSION}")
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
                return
            except sqlite3.OperationalError as exc:  # "database is locked" while another process sets up
                if "locked" not in str(exc) or attempt == 49:
                    raise
                time.sleep(0.05 * (1 + attempt % 5))

    # -- values --------------------------------------------------------------------------------
    def get(self, namespace: str, sig: str, key: str) -> Any | None:
        conn = self._connect()
        row = conn.execute(
            "SELECT value_json FROM entries WHERE namespace = ? AND signature = ? AND key = ?", (namespace, sig, key)
        ).fetchone()
        return None if row is None else json.loads(row[0])

    def put(self, namespace: str, sig: str, key: str, value: Any) -> None:
        """Commit one value at once (its own transaction): durable before the call returns."""
        self.put_many(namespace, sig, {key: value})

    def put_many(
        self, namespace: str, sig: str, values: dict[str, Any], meta: dict[str, str] | None = None, replace: bool = True
    ) -> None:
        """Commit several values (and optional meta rows) in one transaction: all of them or none.
        ``replace=False`` keeps a value already stored under a key (used to import legacy caches)."""
        rows = [(namespace, sig, k, json.dumps(v), time.time()) for k, v in values.items()]
        conn = self._connect()
        conn.execute("BEGIN IMMEDIATE")
        try:
            verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
            conn.executemany(f"{verb} INTO entries VALUES (?, ?, ?, ?, ?)", rows)
            if meta:
                conn.executemany("INSERT OR REPLACE INTO dsei_meta VALUES (?, ?)", list(meta.items()))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def items(self, namespace: str, sig: str) -> dict[str, Any]:
        """Every value under (namespace, signature), in the order written."""
        conn = self._connect()
        rows = conn.execute(
            "SELECT key, value_json FROM entries WHERE namespace = ? AND signature = ? ORDER BY rowid", (namespace, sig)
        ).fetchall()
        return {k: json.loads(v) for k, v in rows}

    def meta(self, key: str) -> str | None:
        conn = self._connect()
        row = conn.execute("SELECT value FROM dsei_meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]
