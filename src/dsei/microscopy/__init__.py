"""SEM image analysis (``dsei sem``): layer thickness and roughness in cross-sections; particles,
coverage, porosity, shape, dendrites and the index of dispersion in top views.

Python API::

    from dsei.microscopy import analyse_image, analyse_images, compare_images, read_image
    a = analyse_image("stack.tif", mode="cross-section", layers=3)
    a.result.cross_section["layers"][1]["thickness_mean_nm"]
"""

from dsei.microscopy.api import (
    SemAnalysis,
    SemComparison,
    SemResult,
    analyse_image,
    analyse_images,
    compare,
    compare_images,
    image_files,
)
from dsei.microscopy.io import SemImage, parse_pixel_size, read_image
from dsei.microscopy.outputs import write_csv, write_html, write_overlay

__all__ = [
    "SemAnalysis",
    "SemComparison",
    "SemImage",
    "SemResult",
    "analyse_image",
    "analyse_images",
    "compare",
    "compare_images",
    "image_files",
    "parse_pixel_size",
    "read_image",
    "write_csv",
    "write_html",
    "write_overlay",
]
