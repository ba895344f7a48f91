"""The chemistry caches (SQLite, :mod:`dsei.cache`): a writer killed mid-way leaves every committed value, two
writers at once lose nothing, keys follow the method signature and are the same in every process, and caches
written by an older dsei (whole-file JSON) are kept.

The writers relax nothing: a fake ``dsei.relax.relax`` returns a known energy per key (a fault-injection fake:
these tests check the cache, not the physics; the physics of ``relax_and_cache`` is covered by
``test_chemistry.py::test_stability_of_a_file`` with the real model)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from pymatgen.core import Lattice, Structure

import dsei
from dsei.cache import Cache
from dsei.campaign.design import barrier_signature, mechanics_of, mechanics_signature
from dsei.chemistry import energies
from dsei.errors import InputError

MODEL = "chgnet"
SRC = str(Path(dsei.__file__).resolve().parents[1])

#: a writer process: relax_and_cache on keys w<start>, w<start+step> … (before w<stop>) with a fake relaxation whose energy encodes the
#: key (-1 - i·1e-6 eV/atom); prints the energy signature it uses, then waits for the file ``go`` (if given)
WRITER = r"""
import sys, time
from pathlib import Path
from types import SimpleNamespace
import dsei.models, dsei.relax
from pymatgen.core import Lattice, Structure
from dsei.chemistry import energies

start, stop, step, go = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
cur = {}
def fake_relax(structure, model, **settings):
    time.sleep(0.002)  # a relaxation takes time: writers that compute between puts, as real ones do
    return SimpleNamespace(result=SimpleNamespace(energy_per_atom_eV=-1.0 - cur["i"] * 1e-6, converged=True))
dsei.relax.relax = fake_relax
dsei.models.load_model = lambda name: name
s = Structure(Lattice.cubic(4.0), ["Li", "F"], [[0, 0, 0], [0.5, 0.5, 0.5]])
print("ready", energies.energy_signature("chgnet"), flush=True)
while go != "-" and not Path(go).exists():
    time.sleep(0.01)
for i in range(start, stop, step):
    cur["i"] = i
    energies.relax_and_cache(s, "chgnet", f"user:LiF:w{i}")
print("done", flush=True)
"""


def _writer(cache: Path, start: int, stop: int, step: int = 1, go: str = "-") -> subprocess.Popen:
    env = {**os.environ, "DSEI_CACHE": str(cache), "PYTHONPATH": SRC, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(start), str(stop), str(step), go], env=env, stdout=subprocess.PIPE, text=True
    )


def _energy(i: int) -> float:
    return -1.0 - i * 1e-6


def _stored(cache: Path) -> dict[str, float]:
    """Every energy in the cache under the energy signature of this process."""
    items = Cache(cache / energies.CACHE_FILE).items(energies.ENERGY_NAMESPACE, energies.energy_signature(MODEL))
    return {k: v["energy_per_atom_eV"] for k, v in items.items()}


def _integrity(cache: Path) -> str:
    with sqlite3.connect(cache / energies.CACHE_FILE) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


def _count(cache: Path) -> int:
    try:
        with sqlite3.connect(cache / energies.CACHE_FILE, timeout=5) as conn:
            return conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
    except sqlite3.Error:
        return 0


@pytest.fixture()
def fake_relax(monkeypatch):
    """In this process: a relaxation that must not happen (raises), or one that counts its calls."""
    import dsei.models
    import dsei.relax

    calls = []

    def relax(structure, model, **settings):
        calls.append(structure.composition.reduced_formula)
        return SimpleNamespace(result=SimpleNamespace(energy_per_atom_eV=-4.5, converged=True))

    monkeypatch.setattr(dsei.relax, "relax", relax)
    monkeypatch.setattr(dsei.models, "load_model", lambda name: name)
    return calls


def test_writer_killed_mid_way_keeps_every_committed_value(tmp_path, monkeypatch, fake_relax):
    cache = tmp_path / "cache"
    w = _writer(cache, 0, 1_000_000)
    ready = w.stdout.readline().split()
    t0 = time.time()
    while _count(cache) < 300 and time.time() - t0 < 120 and w.poll() is None:
        time.sleep(0.02)
    os.kill(w.pid, signal.SIGKILL)  # in the middle of its loop of puts
    w.wait()
    assert w.returncode == -signal.SIGKILL
    assert _integrity(cache) == "ok"
    # the signature is a content hash: the writer process computed the same one as this process
    assert ready == ["ready", energies.energy_signature(MODEL)]
    got = _stored(cache)
    n = len(got)
    assert n >= 300
    # every value committed before the kill is there and exact: keys w0 … w(n-1), each with its own energy
    assert got == {f"user:LiF:w{i}": _energy(i) for i in range(n)}
    # the cache goes on working: a committed value is read back (no relaxation), a new one is added
    monkeypatch.setenv("DSEI_CACHE", str(cache))
    s = Structure(Lattice.cubic(4.0), ["Li", "F"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    assert energies.relax_and_cache(s, MODEL, f"user:LiF:w{n - 1}") == _energy(n - 1)
    assert fake_relax == []
    assert energies.relax_and_cache(s, MODEL, "user:LiF:new") == -4.5 and fake_relax == ["LiF"]
    assert len(_stored(cache)) == n + 1


def test_two_writers_at_once_lose_nothing(tmp_path):
    """Two processes write 400 values each at the same moment, 200 of the keys in common (same values): a from
    w0 up to w399, b from w599 down to w200."""
    cache, go = tmp_path / "cache", tmp_path / "go"
    a, b = _writer(cache, 0, 400, 1, str(go)), _writer(cache, 599, 199, -1, str(go))
    assert a.stdout.readline().startswith("ready") and b.stdout.readline().startswith("ready")
    go.touch()
    assert a.wait(timeout=300) == 0 and b.wait(timeout=300) == 0
    assert _integrity(cache) == "ok"
    assert _stored(cache) == {f"user:LiF:w{i}": _energy(i) for i in range(600)}
    # they did run at once: the rows only one writer wrote (w0-w199: a; w400-w599: b) interleave in commit order
    with sqlite3.connect(cache / energies.CACHE_FILE) as conn:
        order = [int(k.split(":w")[1]) for (k,) in conn.execute("SELECT key FROM entries ORDER BY rowid")]
    owners = [("a" if i < 200 else "b") for i in order if i < 200 or i >= 400]
    switches = sum(x != y for x, y in zip(owners, owners[1:], strict=False))
    assert switches >= 2, "the two writers did not overlap in time"


def test_keys_follow_the_method_signature(monkeypatch):
    sig = energies.energy_signature(MODEL)
    assert len(sig) == 16 and sig == energies.energy_signature("CHGNet")  # canonical model name
    assert energies.energy_signature("sevennet") != sig
    monkeypatch.setattr(energies, "RELAX_FMAX_EV_A", 0.02)
    assert energies.energy_signature(MODEL) != sig
    monkeypatch.undo()

    import dsei.mechanics.elastic  # noqa: F401 - the module (``dsei.mechanics.elastic`` the name is the function)

    elastic_mod = sys.modules["dsei.mechanics.elastic"]
    m = mechanics_signature("sevennet-l3i5")
    assert m != mechanics_signature("chgnet")
    monkeypatch.setattr(elastic_mod, "method_signature", lambda: "other-defaults")
    assert mechanics_signature("sevennet-l3i5") != m
    monkeypatch.undo()

    assert barrier_signature("bvse", "chgnet") == barrier_signature("bvse", "sevennet")  # BVSE uses no model
    assert barrier_signature("neb", "chgnet") != barrier_signature("neb", "sevennet")
    assert barrier_signature("neb", "chgnet") != barrier_signature("bvse", "chgnet")


def test_user_structure_key_is_a_content_hash_and_corrections_share_the_raw_energy(tmp_path, monkeypatch, fake_relax):
    """A user structure is relaxed once per model whatever the correction level (the cache holds the raw
    energy; corrections are applied on reading), and a structure whose fingerprint fails gets a content-hash
    key, the same in every process (the former ``hash()`` key was not)."""
    import dsei.structures.fingerprint  # noqa: F401 - the module (the package exports a function of its name)

    fpmod = sys.modules["dsei.structures.fingerprint"]
    monkeypatch.setenv("DSEI_CACHE", str(tmp_path / "cache"))
    s = Structure(Lattice.cubic(4.3), ["Li", "F"], [[0, 0, 0], [0.5, 0.5, 0.5]])  # not a library structure
    _, e_none = energies.EnergySet(MODEL, "none").add_structure(s, "LiF.cif")
    _, e_fit = energies.EnergySet(MODEL, "fitted").add_structure(s, "LiF.cif")
    assert fake_relax == ["LiF"]  # one relaxation for both levels
    assert e_none == pytest.approx(2 * -4.5) and e_fit != pytest.approx(e_none)

    def broken(_s):
        raise ValueError("no fingerprint")

    monkeypatch.setattr(fpmod, "fingerprint", broken)
    s2 = Structure(Lattice.cubic(4.4), ["Li", "F"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    energies.EnergySet(MODEL, "none").add_structure(s2, "LiF2.cif")
    keys = [k for k in _stored(tmp_path / "cache") if "sha256:" in k]
    code = "import hashlib, sys; print(hashlib.sha256(sys.stdin.read().encode()).hexdigest()[:16])"
    other = subprocess.run([sys.executable, "-c", code], input=s2.to(fmt="poscar"), capture_output=True, text=True)
    assert keys == [f"user:LiF:sha256:{other.stdout.strip()}"]


def test_legacy_json_caches_are_kept(tmp_path, monkeypatch, fake_relax):
    """Entries of the former whole-file JSON caches are read (imported once) rather than recomputed."""
    from dsei.mechanics.elastic import method_signature

    cache = tmp_path / "cache"
    cache.mkdir()
    monkeypatch.setenv("DSEI_CACHE", str(cache))
    old = {
        "user:LiF:abc": {"formula": "LiF", "energy_per_atom_eV": -4.25, "converged": True, "library_id": None},
        "library:zz-1": {"formula": "LiAg", "energy_per_atom_eV": -2.5, "converged": True, "library_id": "zz-1"},
    }
    (cache / f"chemistry_energies_{MODEL}.json").write_text(json.dumps(old))
    mech = {"pugh_ratio": 2.0, "G_vrh_GPa": 10.0, "verdict": "ductile", "model": "m"}
    (cache / "chemistry_mechanics.json").write_text(json.dumps({f"m:{method_signature()}:LiAg": mech}))

    s = Structure(Lattice.cubic(4.0), ["Li", "F"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    assert energies.relax_and_cache(s, MODEL, "user:LiF:abc") == -4.25 and fake_relax == []
    energies._model_phases.cache_clear()
    try:
        assert energies._model_phases(MODEL)["LiAg"].polymorphs["zz-1"] == -2.5
    finally:
        energies._model_phases.cache_clear()
    assert _stored(cache) == {"user:LiF:abc": -4.25, "library:zz-1": -2.5}
    # an older dsei run adds to its JSON file afterwards: the next process imports the new entry too
    old["user:LiF:def"] = {**old["user:LiF:abc"], "energy_per_atom_eV": -4.0}
    legacy = cache / f"chemistry_energies_{MODEL}.json"
    legacy.write_text(json.dumps(old))
    os.utime(legacy, ns=(legacy.stat().st_atime_ns, legacy.stat().st_mtime_ns + 10**9))
    monkeypatch.setattr(energies, "_imported", set())  # as in a new process
    assert energies.relax_and_cache(s, MODEL, "user:LiF:def") == -4.0 and fake_relax == []

    import dsei.mechanics

    monkeypatch.setattr(dsei.mechanics, "elastic", lambda *a, **k: pytest.fail("recomputed a cached tensor"))
    assert mechanics_of("LiAg", "m") == mech
    assert Cache(cache / energies.CACHE_FILE).get("chemistry.mechanics", mechanics_signature("m"), "LiAg") == mech


def test_a_file_that_is_not_a_cache_is_one_clear_error(tmp_path):
    path = tmp_path / "chemistry.sqlite"
    path.write_bytes(b"not a database at all, just text\n" * 200)
    with pytest.raises(InputError, match="not a usable dsei cache"):
        Cache(path).get("ns", "sig", "k")
    foreign = tmp_path / "foreign.sqlite"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE t (x)")
    with pytest.raises(InputError, match="not a dsei cache"):
        Cache(foreign).get("ns", "sig", "k")
