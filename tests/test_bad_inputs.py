"""The bad-input corpus (tests/data/bad, issue #25) through every command that takes a structure.

Each file must end in exit status 2 and exactly one ``error:`` line naming the file, never an ``internal error``,
and the refusal must come before any model loads (a user should not wait for weights to learn that a file is
broken; it also keeps this test fast). ``relax`` only warns on a slab or molecule (relaxing one is legitimate).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymatgen.core import Lattice, Structure

from dsei.errors import InputError

BAD = Path(__file__).parent / "data" / "bad"
FILES = sorted(p for p in BAD.iterdir() if p.name != "make_corpus.py")
NOT_BULK = {"LiF_slab_25A_vacuum.cif", "LiF_wire.cif", "LiF_molecule_20A_box.cif", "two_atoms_40A_cube.cif", "argon_gas_6A_grid.cif"}
COMMANDS = {
    "relax": ("relax", "{f}"),
    "elastic": ("elastic", "{f}"),
    "barrier": ("barrier", "{f}"),
    "stability": ("stability", "{f}"),
}


@pytest.fixture()
def no_model_loading(monkeypatch):
    """Fault injection: loading any model's weights raises, so a refusal that came after a load shows up."""
    import dsei.models.registry as registry

    def boom(name, device):
        raise AssertionError(f"model {name} was loaded before the input was refused")

    monkeypatch.setattr(registry, "_load_cached", boom)


def test_corpus_is_complete():
    assert len(FILES) >= 25
    assert NOT_BULK <= {p.name for p in FILES}


# relax goes on with a warning for a slab or molecule (test_relax_warns_on_non_bulk)
CASES = [(p, c) for p in FILES for c in COMMANDS if not (c == "relax" and p.name in NOT_BULK)]


@pytest.mark.parametrize(("path", "command"), CASES, ids=[f"{c}-{p.name}" for p, c in CASES])
def test_bad_file_one_error_line_exit_2(path, command, run_cli, no_model_loading):
    args = [a.format(f=path) for a in COMMANDS[command]]
    code, out, err = run_cli(*args)
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert code == 2, (command, path.name, code, err)
    assert len(lines) == 1 and lines[0].startswith("error:"), (command, path.name, err)
    assert str(path) in lines[0], lines[0]
    assert "internal error" not in err and "Traceback" not in err


@pytest.mark.parametrize("name", sorted(NOT_BULK))
def test_relax_warns_on_non_bulk(name):
    from dsei.api import prepare
    from dsei.structures.validate import NotBulkWarning

    with pytest.warns(NotBulkWarning, match="not a bulk crystal"):
        prepare(str(BAD / name), None, bulk="warn")


def test_the_issue_table_messages(run_cli, no_model_loading):
    """The right-hand column of issue #25's table, word for word where it names the words."""
    expect = {
        "cell_nan.cif": "cell length a = nan Å is not a finite positive number",
        "cell_inf.cif": "cell length a = inf Å is not a finite positive number",
        "cell_negative.cif": "cell length a = -2.85 Å is not a finite positive number",
        "cell_huge.cif": "cell length a = 1e+300 Å",
        "LiF_slab_25A_vacuum.cif": "27.0 Å of vacuum along c",
        "LiF_molecule_20A_box.cif": "isolated molecule",
        "two_atoms_40A_cube.cif": "no neighbour within the contact distance",
        "POSCAR_counts_mismatch": "6 atoms in the counts line, 2 coordinate lines",
    }
    for name, words in expect.items():
        code, _, err = run_cli("elastic", BAD / name)
        assert code == 2 and words in err, (name, err)


def _screen_with_a_good_file(folder: Path, tmp_path: Path, run_cli) -> dict:
    """Add a good LiF cell to ``folder``, screen it (validate only) and return the JSON (exit 0 asserted)."""
    import json

    good = Structure.from_spacegroup("Fm-3m", Lattice.cubic(4.03), ["Li", "F"], [[0, 0, 0], [0.5, 0.5, 0.5]]).get_primitive_structure()
    good.to(filename=str(folder / "LiF_good.cif"))
    code, out, err = run_cli("screen", folder, "--stages", "validate", "--model", "chgnet", "--out", tmp_path / "o", "--json", "-")
    assert code == 0, err
    return json.loads(out)


def test_screen_over_the_corpus_ranks_the_good_file(tmp_path, run_cli):
    """Every bad file is a failed row with its reason; the one good file is screened and ranked first."""

    folder = tmp_path / "in"
    folder.mkdir()
    for p in FILES:
        (folder / p.name).write_bytes(p.read_bytes())
    data = _screen_with_a_good_file(folder, tmp_path, run_cli)
    rows = {r["candidate_id"]: r for r in data["results"]}
    assert rows["LiF_good"]["rank"] == 1 and rows["LiF_good"]["failure"] is None
    read_failed = {f["candidate_id"] for f in data["failures"] if f["stage"] == "read"}
    assert read_failed == {p.stem for p in FILES if p.suffix.lower() in (".cif", ".vasp", ".extxyz", ".json") or p.name.startswith("POSCAR")}
    for f in data["failures"]:
        assert f["error"] and "\n" not in f["error"] and f["error_type"] == "InputError", f


def test_screen_where_everything_failed_exits_1(tmp_path, run_cli):
    code, _, err = run_cli("screen", BAD / "cell_nan.cif", BAD / "garbled.cif", "--stages", "validate", "--out", tmp_path / "o")
    assert code == 1 and "all 2 candidate(s) failed" in err


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--model", "nosuchmodel"], "error: --model: unknown model 'nosuchmodel'"),
        (["--set", "relax.fmax=-1"], "error: --set relax.fmax: must be > 0"),
        (["--stages", "validate", "--set", "neb.max_bvse_eV=abc"], "error: --set neb.max_bvse_eV: must be a number, not 'abc'"),
        (["--set", "relax.fmx=0.1"], "error: --set relax.fmx: unknown option of stage relax"),
        (["--set", "neb.verdicts=[\"great\"]"], "error: --set neb.verdicts: unknown value(s) 'great'"),
    ],
)
def test_screen_options_checked_before_any_work(tmp_path, run_cli, no_model_loading, args, words):
    code, out, err = run_cli("screen", BAD / "cell_nan.cif", "--out", tmp_path / "o", *args)
    assert code == 2 and err.strip() == err.strip().splitlines()[0] and err.startswith(words), err
    assert not (tmp_path / "o").exists()


def test_screen_config_keys_checked(tmp_path, run_cli, no_model_loading):
    cfg = tmp_path / "c.toml"
    cfg.write_text('stages = ["validate"]\n[neb]\nn_images = 0\n')
    code, _, err = run_cli("screen", BAD / "cell_nan.cif", "--config", cfg, "--out", tmp_path / "o")
    assert code == 2 and err.startswith(f"error: {cfg}: [neb] n_images: must be ≥ 1"), err


def test_stages_prerequisites_are_added_with_a_note():
    from dsei.campaign.pipeline import resolve_stages
    from dsei.campaign.screen import plan_screen

    assert resolve_stages(["validate", "bvse"]) == (["validate", "relax", "bvse"], [("relax", "bvse")])
    assert resolve_stages(["neb"])[0] == ["validate", "relax", "elastic", "bvse", "neb"]
    plan = plan_screen(model="chgnet", stages=["validate", "bvse"])
    assert [s.name for s in plan.stages] == ["validate", "relax", "bvse"]
    assert plan.notes == ["note: stage bvse needs stage relax; added it (stages: validate, relax, bvse)"]


# ------------------------------------------------------------------------------------------ property test
finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)
anything = st.one_of(finite, st.sampled_from([float("nan"), float("inf"), -float("inf"), 0.0, 1e300, -1e300, 1e-300]))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    matrix=st.lists(st.lists(anything, min_size=3, max_size=3), min_size=3, max_size=3),
    scale=st.sampled_from([1.0, 1.0, 1.0, 3.0, 10.0]),
    species=st.lists(st.sampled_from(["Li", "F", "O", "S", "Ag", "Cs", "H", "Xe", "U"]), min_size=1, max_size=12),
    frac=st.lists(st.lists(st.one_of(st.floats(-2, 2), st.sampled_from([float("nan"), float("inf")])), min_size=3, max_size=3), min_size=12, max_size=12),
)
def test_validator_returns_a_structure_or_raises_input_error(matrix, scale, species, frac):
    """Random cells (NaN, inf, huge, degenerate, skewed), species and positions: the validator returns the
    structure or raises InputError, nothing else."""
    from dsei.structures.validate import validate_structure

    try:
        s = Structure(Lattice([[scale * x for x in row] for row in matrix]), species, frac[: len(species)])
    except Exception:  # noqa: BLE001 - pymatgen itself refuses some inputs; the validator is what is tested
        return
    try:
        out = validate_structure(s, source="random")
    except InputError as exc:
        assert str(exc).startswith("random: ") and "\n" not in str(exc)
        return
    assert out is s


@settings(max_examples=100, deadline=None)
@given(a=st.floats(2.0, 6.0), species=st.lists(st.sampled_from(["Li", "F", "Cl", "Ag", "S"]), min_size=2, max_size=6),
       vacuum=st.floats(9.0, 40.0))
def test_a_slab_with_vacuum_is_never_bulk(a, species, vacuum):
    """A layer of atoms with over 8 Å of vacuum above it is refused, whatever the atoms."""
    from dsei.structures.validate import validate_structure

    n = len(species)
    lat = Lattice.orthorhombic(a, a, 2.0 * n + vacuum)
    coords = [[(i % 2) * 0.5, (i // 2 % 2) * 0.5, 2.0 * i / (2.0 * n + vacuum)] for i in range(n)]
    s = Structure(lat, species, coords)
    with pytest.raises(InputError):
        validate_structure(s, source="slab")


# ---------------------------------------------------------------------- issue #25 "done when": 60 garbled CIFs
def garble(text: str, kind: int, rng) -> str:
    """Six ways a real CIF gets damaged; each leaves a file dsei must refuse."""
    import re

    if kind == 0:  # truncated inside the cell block
        return text[: text.index("_cell_angle_alpha")]
    if kind == 1:  # a cell length replaced by nonsense
        return re.sub(r"(_cell_length_b\s+)\S+", lambda m: m.group(1) + rng.choice(["nan", "inf", "-3.2", "1e300", "abc", "0"]), text)
    if kind == 2:  # the atom-site loop lost
        return text[: text.index("_atom_site_")].rsplit("loop_", 1)[0]
    if kind == 3:  # binary junk (a download gone wrong)
        return "\x00\x00\x89PNG" + text[:50]
    if kind == 4:  # every character shifted: not a CIF any more
        return "".join(chr((ord(ch) + 1) % 128) for ch in text)
    # a cell scaled 5x with the atoms in fractional coordinates: mostly vacuum, not a bulk crystal
    return re.sub(r"(_cell_length_[abc]\s+)([\d.]+)", lambda m: m.group(1) + f"{5 * float(m.group(2)):.4f}", text)


def test_screen_of_60_garbled_real_cifs_and_one_good_file(tmp_path, run_cli):
    """Issue #25, done when: exit 0, the good file ranked, every garbled one accounted for with a one-line reason."""
    import random

    rng = random.Random(25)
    lib = sorted((Path(__file__).parents[1] / "src/dsei/structures/data/library").glob("*.cif"))
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(60):
        src = lib[(7 * i) % len(lib)]
        (folder / f"garbled_{i:02d}_{src.stem}.cif").write_text(garble(src.read_text(), i % 6, rng))
    data = _screen_with_a_good_file(folder, tmp_path, run_cli)
    rows = {r["candidate_id"]: r for r in data["results"]}
    assert len(rows) == 61 and rows["LiF_good"]["rank"] == 1 and rows["LiF_good"]["failure"] is None
    garbled = [r for cid, r in rows.items() if cid.startswith("garbled_")]
    assert len(garbled) == 60
    for r in garbled:
        assert r["failed_stage"] == "read" and r["failure"].startswith("InputError: ") and "\n" not in r["failure"], r
        assert "internal error" not in r["failure"]
    csv = (tmp_path / "o" / "results.csv").read_text()
    assert csv.count("garbled_") >= 60


# ------------------------------------------------------------------------------- interruption and crashes
def _two_good_files(folder: Path) -> None:
    folder.mkdir()
    for a in (4.03, 4.10):
        s = Structure.from_spacegroup("Fm-3m", Lattice.cubic(a), ["Li", "F"], [[0, 0, 0], [0.5, 0.5, 0.5]]).get_primitive_structure()
        s.to(filename=str(folder / f"LiF_{a:.2f}.cif"))


@pytest.mark.parametrize("fault", [KeyboardInterrupt, RuntimeError])
def test_screen_stopped_midway_keeps_what_finished(tmp_path, run_cli, monkeypatch, fault):
    """Fault injection: the second job raises Ctrl-C (exit 130, one line saying what is kept and that a rerun
    resumes) or an error outside any candidate (exit 1); either way the first result is in the store and the
    tables, and the rerun computes only the rest."""
    import json

    import dsei.campaign.executors as ex

    folder, out = tmp_path / "in", tmp_path / "o"
    _two_good_files(folder)
    real, calls = ex.execute_tasks, []

    def flaky(tasks):
        calls.append(1)
        if len(calls) == 2:
            raise fault("stopped")
        return real(tasks)

    monkeypatch.setattr(ex, "execute_tasks", flaky)
    code, _, err = run_cli("screen", folder, "--stages", "validate", "--model", "chgnet", "--out", out)
    lines = [ln for ln in err.strip().splitlines() if ln.startswith(("interrupted:", "error:"))]
    if fault is KeyboardInterrupt:
        assert code == 130 and len(lines) == 1, err
        assert lines[0].startswith("interrupted: 1 finished stage result(s) are kept in") and "rerun the same command to resume" in lines[0]
    else:
        assert code == 1 and len(lines) == 1 and "internal error RuntimeError" in lines[0], err
    assert (out / "results.csv").exists()
    monkeypatch.setattr(ex, "execute_tasks", real)
    code, stdout, err = run_cli("screen", folder, "--stages", "validate", "--model", "chgnet", "--out", out, "--json", "-")
    assert code == 0, err
    (stage,) = json.loads(stdout)["stages"]
    assert (stage["computed"], stage["reused"]) == (1, 1)


def test_elastic_stage_passes_only_its_own_options():
    """``[elastic] chunk = N`` (the GPU setting docs/campaign.md suggests) steers the pipeline; it must not reach
    elastic_many, where it made every candidate fail with a TypeError."""
    from dsei.campaign.stages import ElasticStage

    st = ElasticStage(model="chgnet", options={"chunk": 2, "max_candidates": 3, "calibrate": False})
    assert st._options() == {"calibrate": False}


def test_screen_of_a_folder_without_structures_is_an_input_error(tmp_path, run_cli):
    folder = tmp_path / "empty"
    folder.mkdir()
    (folder / "notes.txt").write_text("no structures here")
    code, _, err = run_cli("screen", folder, "--stages", "validate", "--model", "chgnet", "--out", tmp_path / "o")
    assert code == 2 and err.startswith(f"error: {folder}: no structure files found"), err
