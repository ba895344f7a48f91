"""Percolation over periodic hop graphs with known answers (no model)."""

from __future__ import annotations

import itertools

import pytest

from dsei.transport.percolation import percolation_barriers, periodic_dimension

X, Y, Z = (1, 0, 0), (0, 1, 0), (0, 0, 1)


def test_chain_square_cubic_nets():
    assert periodic_dimension(1, [(0, 0, X)]) == 1
    assert periodic_dimension(1, [(0, 0, X), (0, 0, Y)]) == 2
    assert periodic_dimension(1, [(0, 0, X), (0, 0, Y), (0, 0, Z)]) == 3
    # the same nets on two sites per cell (the chain closes only through the neighbour cell)
    assert periodic_dimension(2, [(0, 1, (0, 0, 0)), (1, 0, X)]) == 1
    assert periodic_dimension(2, [(0, 1, (0, 0, 0)), (1, 0, X), (1, 0, Y), (0, 1, (0, 0, -1))]) == 3


def test_rings_that_do_not_percolate():
    # a closed ring of 3 sites inside the cell, and a dimer bonded across the cell boundary and back
    assert periodic_dimension(3, [(0, 1, (0, 0, 0)), (1, 2, (0, 0, 0)), (2, 0, (0, 0, 0))]) == 0
    assert periodic_dimension(2, [(0, 1, X), (1, 0, (-1, 0, 0))]) == 0
    assert periodic_dimension(4, []) == 0
    # two separate components: a ring and a chain -> the chain sets the dimension
    assert periodic_dimension(4, [(0, 1, (0, 0, 0)), (1, 0, (0, 0, 0)), (2, 3, Y), (3, 2, (0, 0, 0))]) == 1


def test_diagonal_cycles_give_rank_not_count():
    # x+y and x-y on one site: a 2D net; adding 2x (dependent) keeps it 2D
    assert periodic_dimension(1, [(0, 0, (1, 1, 0)), (0, 0, (1, -1, 0)), (0, 0, (2, 0, 0))]) == 2


def test_barriers_open_dimensions_one_by_one():
    # cubic net: x hops at 0.1 eV, y hops at 0.3, z hops at 0.5, plus an isolated dead-end pair at 0.05
    edges = [(0, 0, X, 0.1), (0, 0, Y, 0.3), (0, 0, Z, 0.5), (1, 2, (0, 0, 0), 0.05)]
    assert percolation_barriers(3, edges) == {"1D": 0.1, "2D": 0.3, "3D": 0.5}
    # a failed NEB (None) never opens
    assert percolation_barriers(1, [(0, 0, X, 0.2), (0, 0, Y, None)]) == {"1D": 0.2, "2D": None, "3D": None}


def test_barriers_on_a_cell_with_several_sites():
    """Simple-cubic net on a 2x1x1 cell of sites: x hops alternate 0.1 and 0.4 eV, so 1D needs 0.4."""
    edges = [(0, 1, (0, 0, 0), 0.1), (1, 0, X, 0.4)]
    for i, v in itertools.product(range(2), (Y, Z)):
        edges.append((i, i, v, 0.2))
    assert percolation_barriers(2, edges) == {"1D": 0.2, "2D": 0.2, "3D": 0.4}


def test_bad_edge():
    with pytest.raises(ValueError):
        periodic_dimension(1, [(0, 1, X)])
