"""Shared fixtures. Tests run the real models (CHGNet 0.3.0, SevenNet-0) on small cells.

Under pytest-xdist each worker gets one torch thread so that two workers share the 2 CI cores
without oversubscription.
"""

from __future__ import annotations

import os
import warnings

import pytest

if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover
        pass

warnings.filterwarnings("ignore")


@pytest.fixture(scope="session")
def lif():
    from pymatgen.core import Lattice, Structure

    return Structure.from_spacegroup("Fm-3m", Lattice.cubic(4.03), ["Li", "F"], [[0, 0, 0], [0.5, 0.5, 0.5]])


@pytest.fixture()
def run_cli(capsys):
    """Run the dsei CLI in-process: returns (exit_code, stdout, stderr)."""
    from dsei.cli import main

    def _run(*args: str):
        code = main([str(a) for a in args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return _run
