"""dsei quietens third-party noise but never hides a deprecation (issue: deprecations from chgnet, sevenn, ase and
pymatgen must surface)."""

import warnings

from dsei._warnings import quiet


def test_quiet_hides_noise_but_not_deprecations():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with quiet():
            warnings.warn("symmetry tolerance adjusted", UserWarning, stacklevel=1)
            warnings.warn("overflow in exp", RuntimeWarning, stacklevel=1)
            warnings.warn("old_api() is deprecated", DeprecationWarning, stacklevel=1)
            warnings.warn("will change in 2.0", FutureWarning, stacklevel=1)
    assert sorted(w.category.__name__ for w in caught) == ["DeprecationWarning", "FutureWarning"]


def test_fix_symmetry_relaxation_warns_no_user_noise(recwarn):
    """The relaxation path (FixSymmetry + FrechetCellFilter + BFGS) runs under quiet(): no UserWarning reaches the
    caller, while the same block lets a deprecation through (above)."""
    from pymatgen.core import Lattice, Structure

    from dsei.relax import relax

    warnings.simplefilter("always")
    s = Structure(Lattice.cubic(4.0), ["Li", "F"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    relax(s, "sevennet", steps=5)
    assert not [w for w in recwarn if issubclass(w.category, UserWarning) and "ase" in w.filename]
