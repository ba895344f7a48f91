"""SEM image analysis (``dsei sem``): layer thickness and roughness in cross-sections; particles,
coverage, porosity, shape, dendrites and the index of dispersion in top views.

Python API::

    from dsei.microscopy import analyse_image, analyse_images, compare_images, read_image
    a = analyse_image("stack.tif", mode="cross-section", layers=3)
    a.result.cross_section["layers"][1]["thickness_mean_nm"]
"""

from dsei._lazy import lazy_package

# lazy (PEP 562): ``dsei --help`` imports this package (its cli.py) and must not load pymatgen, ASE or torch
_EXPORTS = {
    "SemAnalysis": "dsei.microscopy.api",
    "SemComparison": "dsei.microscopy.api",
    "SemResult": "dsei.microscopy.api",
    "analyse_image": "dsei.microscopy.api",
    "analyse_images": "dsei.microscopy.api",
    "compare": "dsei.microscopy.api",
    "compare_images": "dsei.microscopy.api",
    "image_files": "dsei.microscopy.api",
    "SemImage": "dsei.microscopy.io",
    "parse_pixel_size": "dsei.microscopy.io",
    "read_image": "dsei.microscopy.io",
    "write_csv": "dsei.microscopy.outputs",
    "write_html": "dsei.microscopy.outputs",
    "write_overlay": "dsei.microscopy.outputs",
}

__all__ = sorted(_EXPORTS)

lazy_package(__name__, _EXPORTS)
