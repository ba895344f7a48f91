"""Speed of ``dsei sem`` on a 4,096 x 3,072 SEM image, on one core (the issue's target: <= 5 s).

Two synthetic 8-bit TIFFs of that size are written once to a temporary folder:

* ``cross-section``: three layers (two boundaries, 4° tilt, blur 2 px, noise 6 %, uneven illumination);
* ``top-view``: ~1,900 disks of 6-30 px radius (touching pairs among them) and noise.

Each is analysed with :func:`dsei.microscopy.analyse_image` (read + data-bar search + analysis, no
output files) — the wall time is the best of ``--repeat`` runs. The anchor, measured in the same run,
is a fixed numpy/scipy operation on an image of the same size: ``scipy.ndimage.gaussian_filter`` of a
float32 4,096 x 3,072 array with σ = 2 px. The ratios to the anchor are what carry over to other
machines.

Usage::

    OMP_NUM_THREADS=1 nice python benchmarks/sem_speed.py [--repeat 2]
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.microscopy.synthetic: the same generators as the tests

SHAPE = (3072, 4096)


def make_images(folder: Path) -> dict[str, Path]:
    import tifffile
    from scipy import ndimage as ndi
    from tests.microscopy.synthetic import layered

    xs = folder / "cross_section_4096x3072.tif"
    img = layered(shape=SHAPE, boundaries_px=(1200.0, 1500.0), values=(0.35, 0.8, 0.2), tilt_deg=4, blur_px=2.0, noise=0.06, illumination=0.4)
    tifffile.imwrite(xs, (img * 255).round().astype(np.uint8))
    del img
    rng = np.random.default_rng(0)
    tv = folder / "top_view_4096x3072.tif"
    yy, xx = np.mgrid[0 : SHAPE[0], 0 : SHAPE[1]]
    cover = np.zeros(SHAPE, np.float32)
    n = 0
    for cy in range(40, SHAPE[0] - 40, 70):
        for cx in range(40, SHAPE[1] - 40, 70):
            r = rng.uniform(6, 30)
            y, x = cy + rng.uniform(-5, 5), cx + rng.uniform(-5, 5)
            y0, y1, x0, x1 = int(y - r - 2), int(y + r + 3), int(x - r - 2), int(x + r + 3)
            d2 = (yy[y0:y1, x0:x1] - y) ** 2 + (xx[y0:y1, x0:x1] - x) ** 2
            cover[y0:y1, x0:x1] = np.maximum(cover[y0:y1, x0:x1], np.clip(r + 0.5 - np.sqrt(d2), 0, 1))
            n += 1
    del yy, xx
    img = 0.25 + 0.55 * ndi.gaussian_filter(cover, 1.0) + 0.04 * rng.standard_normal(SHAPE).astype(np.float32)
    tifffile.imwrite(tv, (np.clip(img, 0, 1) * 255).round().astype(np.uint8))
    print(f"top view: {n} disks")
    return {"cross-section": xs, "top-view": tv}


def anchor_s() -> float:
    from scipy import ndimage as ndi

    a = np.random.default_rng(1).random(SHAPE, dtype=np.float32)
    ndi.gaussian_filter(a, 2.0)
    t = time.perf_counter()
    ndi.gaussian_filter(a, 2.0)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    from dsei.microscopy import analyse_image

    with tempfile.TemporaryDirectory() as tmp:
        files = make_images(Path(tmp))
        anchor = anchor_s()
        print(f"anchor: scipy.ndimage.gaussian_filter(float32 {SHAPE[1]}x{SHAPE[0]}, sigma=2): {anchor:.3f} s")
        print(f"{'mode':<14} {'time (s)':>9} {'/anchor':>8}  result")
        for mode, path in files.items():
            best = float("inf")
            for _ in range(args.repeat):
                t = time.perf_counter()
                a = analyse_image(path, mode=mode, pixel_size="10nm")
                best = min(best, time.perf_counter() - t)
            r = a.result
            if mode == "cross-section":
                lay = r.cross_section["layers"][1]
                what = f"{r.cross_section['n_boundaries']} boundaries, layer 2 {lay['thickness_mean_px']:.2f} px (true {300 * np.cos(np.radians(4)):.2f})"
            else:
                what = f"{r.top_view['count']} objects"
            print(f"{mode:<14} {best:>9.2f} {best / anchor:>8.1f}  {what}  ({'meets' if best <= 5 else 'MISSES'} the 5 s target)")


if __name__ == "__main__":
    main()
