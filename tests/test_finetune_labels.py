"""Labels of scripts/finetune_elastic.py (issue 19): which strained cells keep their ions, and where the ions of
the others relax to."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "finetune_elastic.py"


@pytest.fixture(scope="module")
def ft():
    spec = importlib.util.spec_from_file_location("finetune_elastic", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def wurtzite_entry():
    """Wurtzite ZnO (experimental a, c, u) with its PBE-like hexagonal tensor as the label (GPa)."""
    from pymatgen.core import Lattice, Structure

    s = Structure.from_spacegroup("P6_3mc", Lattice.hexagonal(3.25, 5.207), ["Zn", "O"], [[1 / 3, 2 / 3, 0], [1 / 3, 2 / 3, 0.382]])
    c11, c12, c13, c33, c44 = 209.0, 121.0, 105.0, 211.0, 44.0
    C = np.array([[c11, c12, c13, 0, 0, 0], [c12, c11, c13, 0, 0, 0], [c13, c13, c33, 0, 0, 0],
                  [0, 0, 0, c44, 0, 0], [0, 0, 0, 0, c44, 0], [0, 0, 0, 0, 0, (c11 - c12) / 2]])
    return {"mp_id": "wz-ZnO", "structure": s.as_dict(), "elastic_tensor_original": C.tolist(), "nsites": len(s)}


def test_strain_components_split_into_clamped_and_moving(ft, lif, wurtzite_entry):
    """Rock salt: every ion on an inversion centre, all six components clamped. Wurtzite (no inversion): every
    component moves some ion, so none is clamped and all six go to the relaxed-ion labels."""
    entry = {"mp_id": "LiF", "structure": lif.as_dict(), "elastic_tensor_original": (np.eye(6) * 50).tolist()}
    assert len(ft.strain_pairs(entry, 0.01)) == 6
    assert ft.strain_pairs(entry, 0.01, moving=True) == []
    assert len(ft.strain_pairs(wurtzite_entry, 0.01)) == 0
    assert len(ft.strain_pairs(wurtzite_entry, 0.01, moving=True)) == 6


def test_relaxed_pairs_put_ions_where_the_base_model_relaxes_them(ft, wurtzite_entry):
    """The harmonic move u = Φ⁺(F(ε) − F(0)) removes the strain-induced force: in wurtzite ZnO under a 1 % strain
    the base model's force change against the unstrained cell drops at least five-fold at the moved positions,
    the ions move by hundredths of an Å, and the label stays DFT's C·ε."""
    from pymatgen.core import Structure
    from pymatgen.io.ase import AseAtomsAdaptor

    from dsei.models import load_model

    model = load_model("sevennet-l3i5")
    moved = ft.relaxed_pairs([wurtzite_entry], 0.01, "sevennet-l3i5")["wz-ZnO"]
    clamped = ft.strain_pairs(wurtzite_entry, 0.01, moving=True)
    assert len(moved) == len(clamped) == 6
    cells_moved = [AseAtomsAdaptor.get_atoms(c) for p in moved for c in p[:2]]
    cells_clamped = [AseAtomsAdaptor.get_atoms(c) for p in clamped for c in p[:2]]
    dft = AseAtomsAdaptor.get_atoms(Structure.from_dict(wurtzite_entry["structure"]))
    evs = model.evaluate([dft] + cells_moved + cells_clamped)  # one batched pass
    f0, ev_m, ev_c = evs[0].forces_eV_per_A, evs[1 : 1 + len(cells_moved)], evs[1 + len(cells_moved) :]
    before = max(np.abs(e.forces_eV_per_A - f0).max() for e in ev_c)
    after = max(np.abs(e.forces_eV_per_A - f0).max() for e in ev_m)
    assert before > 0.01  # eV/Å: strain does push the ions
    assert after < before / 5
    shift = max(np.abs(a.get_positions() - b.get_positions()).max() for a, b in zip(cells_moved, cells_clamped, strict=True))
    assert 1e-4 < shift < 0.05
    for (_, _, sig_m), (_, _, sig_c) in zip(moved, clamped, strict=True):
        np.testing.assert_allclose(sig_m, sig_c)


def test_held_out_split_keeps_the_best_epoch(ft, tmp_path):
    """``--val-fraction``: one of three compounds is held out (never trained on), its loss is measured each epoch,
    and the checkpoint written is the epoch that fits it best, recorded with the held-out mp_id. The three entries
    are the same rock salt with a label far from CHGNet's (C11 doubled), so training must lower the held-out C term."""
    import gzip
    import json

    import torch
    from pymatgen.core import Lattice, Structure

    nacl = Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.69), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]]).get_primitive_structure()
    c11, c12, c44 = 2 * 49.0, 12.6, 12.7  # NaCl's experimental tensor (GPa) with C11 doubled
    C = np.diag([c11, c11, c11, c44, c44, c44])
    C[:3, :3] += c12 * (1 - np.eye(3))
    entries = [{"mp_id": f"nacl-{i}", "structure": nacl.as_dict(), "elastic_tensor_original": C.tolist(), "nsites": len(nacl)} for i in range(3)]
    data, out = tmp_path / "tensors.json.gz", tmp_path / "ft.pt"
    with gzip.open(data, "wt") as fh:
        json.dump(entries, fh)
    rc = ft.main(["--data", str(data), "--base", "chgnet", "--val-fraction", "0.34", "--epochs", "2", "--lr", "1e-3",
                  "--batch", "1", "--threads", "2", "--out", str(out)])
    assert rc == 0 and out.exists()
    meta = torch.load(out, map_location="cpu", weights_only=False)["dsei"]
    assert len(meta["val_mp_ids"]) == 1 and meta["n_compounds"] == 2
    assert meta["epochs_kept"] in (1, 2)
    assert meta["val_terms"]["C"] < 0.8 * meta["val_terms_before"]["C"]
