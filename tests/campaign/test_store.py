"""Result store: resumability keys, failure records, and refusal of foreign or corrupted files."""

from __future__ import annotations

import sqlite3

import pytest

from dsei.campaign.store import ResultStore, result_key
from dsei.errors import InputError


def test_put_get_and_reopen(tmp_path):
    path = tmp_path / "r.sqlite"
    key = result_key("LiF-Fm-3m-225-abc", "relax", "sevennet", {"fmax": 0.01})
    with ResultStore(path) as st:
        assert not st.has(key)
        st.put(key, "LiF", "LiF-Fm-3m-225-abc", "relax", "sevennet", {"fmax": 0.01}, "ok", {"energy_per_atom_eV": -4.8})
        bad = result_key("X", "relax", "sevennet", {})
        st.put(bad, "X", "X", "relax", "sevennet", {}, "failed", None, "CalculationError", "diverged")
    with ResultStore(path) as st:
        assert st.has(key)
        assert st.get(key).result == {"energy_per_atom_eV": -4.8}
        assert st.has(bad) and not st.has(bad, retry_failed=True)
        rec = st.get(bad)
        assert rec.status == "failed" and rec.error_type == "CalculationError" and rec.error_message == "diverged"
        assert st.count("relax") == 2 and st.count("relax", "ok") == 1


def test_settings_change_the_key():
    a = result_key("fp", "elastic", "sevennet", {"strain": 0.01})
    assert a != result_key("fp", "elastic", "sevennet", {"strain": 0.005})
    assert a != result_key("fp", "elastic", "chgnet", {"strain": 0.01})
    assert a == result_key("fp", "elastic", "sevennet", {"strain": 0.01})


def test_foreign_sqlite_is_refused(tmp_path):
    path = tmp_path / "other.sqlite"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE results (x INTEGER)")
    con.commit()
    con.close()
    with pytest.raises(InputError, match="not a dsei result store"):
        ResultStore(path)


def test_garbage_file_is_refused(tmp_path):
    path = tmp_path / "garbage.sqlite"
    path.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(InputError, match="not a usable dsei result store|corrupted"):
        ResultStore(path)


def test_corrupted_store_is_refused(tmp_path):
    path = tmp_path / "r.sqlite"
    with ResultStore(path) as st:
        for i in range(200):
            st.put(f"k{i}", "c", "fp", "relax", "m", {}, "ok", {"i": i, "pad": "x" * 500})
    data = bytearray(path.read_bytes())
    # overwrite a page in the middle of the file (not the header) with junk
    mid = len(data) // 2
    data[mid : mid + 4096] = b"\xff" * 4096
    path.write_bytes(bytes(data))
    for suffix in ("-wal", "-shm"):
        (tmp_path / f"r.sqlite{suffix}").unlink(missing_ok=True)
    with pytest.raises(InputError):
        ResultStore(path)
