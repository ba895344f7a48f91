"""Transport: Li+ (Na+...) migration. For now the BVSE pre-screen (:func:`bvse`); NEB, percolation over
NEB hops and MD are being built (see the transport issue)."""

from dsei.transport.bvse import BVSEResult, bvse, bvse_file

__all__ = ["BVSEResult", "bvse", "bvse_file"]
