"""One way to quieten third-party calls without hiding deprecations.

ASE's ``FixSymmetry``, its optimisers, pymatgen's CIF parser and SevenNet's calculator warn on every call about
things dsei has already handled (a symmetry tolerance, a rounded occupancy, a model loaded for inference).
:func:`quiet` hides those (``UserWarning``, ``RuntimeWarning``) and nothing else: a ``DeprecationWarning``,
``PendingDeprecationWarning`` or ``FutureWarning`` from chgnet, sevenn, ase, pymatgen or torch still follows the
outer filters (shown by pytest, hidden by Python's defaults outside ``__main__``), so an API about to break
surfaces in the test suite instead of in a user's run.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

#: the categories :func:`quiet` hides
NOISE: tuple[type[Warning], ...] = (UserWarning, RuntimeWarning)


@contextmanager
def quiet() -> Iterator[None]:
    """Hide :data:`NOISE` warnings inside the block; deprecations pass through."""
    with warnings.catch_warnings():
        for category in NOISE:
            warnings.filterwarnings("ignore", category=category)
        yield


def quiet_process() -> None:
    """:func:`quiet` for a whole worker process (its filters, set once at start)."""
    for category in NOISE:
        warnings.filterwarnings("ignore", category=category)
