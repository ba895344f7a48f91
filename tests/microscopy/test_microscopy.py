"""dsei.microscopy: reading with physical scale, data bar, cross-sections, top views, outputs, bad input.

Synthetic images (tests/microscopy/synthetic.py) have known geometry; the real images are the
RosettaSciIO FEI Helios and Zeiss test files in tests/data/sem (GPL-3.0-or-later, see the README there).
"""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import tifffile

from dsei.cli import main
from dsei.errors import InputError
from dsei.microscopy import analyse_image, analyse_images, compare_images, read_image
from dsei.microscopy.cross_section import analyse_cross_section_array
from dsei.microscopy.databar import detect_data_bar
from dsei.microscopy.top_view import analyse_top_view_array

from .synthetic import branched, disks, layered

DATA = Path(__file__).parents[1] / "data" / "sem"
FEI8 = DATA / "FEI-Helios-Ebeam-8bits.tif"
FEI16 = DATA / "FEI-Helios-Ebeam-16bits.tif"
ZEISS = DATA / "test_tiff_Zeiss_SEM_512pix.tif"


def _save_png(path, arr):
    from PIL import Image

    Image.fromarray(arr).save(path)
    return path


def _u8(img):
    return (np.clip(img, 0, 1) * 255).round().astype(np.uint8)


# --------------------------------------------------------------------------------------- reading
@pytest.mark.parametrize("path", [FEI8, FEI16])
def test_fei_pixel_size_from_tag_34682(path):
    im = read_image(path)
    assert im.pixel_size_um == pytest.approx(3.3724, rel=1e-9)  # [Scan] PixelWidth=3.3724e-006 m
    assert "34682" in im.pixel_size_source and "PixelWidth" in im.pixel_size_source
    assert im.grey.dtype == np.float32 and im.grey.shape == (471, 512)
    assert im.original_dtype == ("uint16" if "16" in path.name else "uint8")
    rsciio_tiff = pytest.importorskip("rsciio.tiff")  # RosettaSciIO (the `test` extra) reads the same value
    assert im.pixel_size_um == pytest.approx(rsciio_tiff.file_reader(str(path))[0]["axes"][1]["scale"] * 1e6, rel=1e-9)


def test_zeiss_pixel_size_equals_rosettasciio_and_the_burnt_in_scale_bar():
    file_reader = pytest.importorskip("rsciio.tiff").file_reader  # RosettaSciIO: the `test` extra

    im = read_image(ZEISS)
    ref = file_reader(str(ZEISS))[0]["axes"][1]["scale"] * 1e6  # RosettaSciIO's value, m -> µm
    assert im.pixel_size_um == pytest.approx(ref, rel=1e-6)
    assert "34118" in im.pixel_size_source
    assert im.original_mode == "palette"  # a palette TIFF: mapped through its colour map to grey
    # the data bar's own "200 nm" bar: tick marks at columns 11 and 28 of rows 368-379 (17 px);
    # the metadata's 11.65 nm/px gives 17.2 px, whereas the raw 'Pixel Size' (5.825 nm) would give 34 px
    ticks = np.where((im.grey[368:380, :40] < 0.9).sum(axis=0) >= 10)[0]
    ticks = ticks[ticks > 5]
    assert abs((ticks.max() - ticks.min()) - 0.200 / im.pixel_size_um) <= 1.0


def test_fei_scale_bar_in_data_bar_agrees_with_pixel_width():
    im = read_image(FEI8)
    row = im.grey[449, 300:]  # the 500 µm bar of the Helios data bar (rows 448-450)
    on = np.where(row > 0.5)[0]
    runs = np.split(on, np.where(np.diff(on) > 1)[0] + 1)
    long = [r for r in runs if len(r) > 20]  # the bar, split in two by its "500 µm" label
    extent = long[-1][-1] - long[0][0]  # 152 px drawn; 148.3 px from PixelWidth (the bar is drawn to ~3 %)
    assert extent == pytest.approx(500 / im.pixel_size_um, rel=0.04)


def test_pixel_size_option_and_units(tmp_path):
    p = _save_png(tmp_path / "a.png", _u8(layered()))
    assert read_image(p, pixel_size="2.6um").pixel_size_um == pytest.approx(2.6)
    assert read_image(p, pixel_size="500nm").pixel_size_um == pytest.approx(0.5)
    assert read_image(p, pixel_size="0.5 µm").pixel_size_source == "--pixel-size"
    with pytest.raises(InputError, match="--pixel-size"):
        read_image(p)
    with pytest.raises(InputError, match="unit"):
        read_image(p, pixel_size="2.6")
    # the user's value overrides the metadata, with a note
    im = read_image(FEI8, pixel_size="1um")
    assert im.pixel_size_um == 1.0 and any("overrides" in n for n in im.notes)


def test_tescan_imagej_and_sidecar_metadata(tmp_path):
    arr = _u8(layered())
    tescan = tmp_path / "tescan.tif"
    text = "[MAIN]\r\nDevice=TESCAN MIRA\r\nPixelSizeX=2.5e-08\r\nPixelSizeY=2.5e-08\r\n"
    tifffile.imwrite(tescan, arr, extratags=[(50431, "s", 0, text, True)])
    im = read_image(tescan)
    assert im.pixel_size_um == pytest.approx(0.025) and "TESCAN" in im.pixel_size_source

    ij = tmp_path / "ij.tif"
    tifffile.imwrite(ij, arr, imagej=True, resolution=(1 / 0.04, 1 / 0.04), metadata={"unit": "micron"})
    assert read_image(ij).pixel_size_um == pytest.approx(0.04)

    hit = _save_png(tmp_path / "hitachi.png", arr)
    (tmp_path / "hitachi.txt").write_text(f"[SemImageFile]\nInstructName=S-4800\nDataSize={arr.shape[1]}x{arr.shape[0]}\nPixelSize=12.5\n")
    im = read_image(hit)
    assert im.pixel_size_um == pytest.approx(0.0125) and im.vendor == "Hitachi"

    jeol = _save_png(tmp_path / "jeol.png", arr)
    (tmp_path / "jeol.txt").write_text(f"$CM_FORMAT JEOL/SEM\n$CM_FULL_SIZE {2 * arr.shape[1]} {2 * arr.shape[0]}\n$$SM_MICRON_BAR 200\n$$SM_MICRON_MARKER 10um\n")
    im = read_image(jeol)  # 10 µm / 200 px at twice the width of this file -> 0.1 µm per px here
    assert im.pixel_size_um == pytest.approx(0.1) and im.vendor == "JEOL"


# -------------------------------------------------------------------------------------- data bar
def test_data_bar_detected_on_fei_matches_metadata_and_on_zeiss():
    fei = read_image(FEI8)
    bar = detect_data_bar(fei.grey)  # the detector alone, without the metadata
    assert bar.start_row == fei.metadata["ResolutionY"] == 442
    assert bar.height_px == fei.metadata["DatabarHeight"] == 29
    assert detect_data_bar(read_image(FEI16).grey).start_row == 442
    zeiss = read_image(ZEISS)
    assert detect_data_bar(zeiss.grey).start_row == 350  # row 350 is the black line above the white text strip
    res = analyse_image(ZEISS).result
    assert res.data_bar_start_row == 350 and res.analysed_region_px == [0, 0, 512, 350]


@pytest.mark.parametrize("img", [layered(noise=0.05), disks(centres=[(300, 200), (350, 300)], radii=[20, 15]), layered(boundaries_px=(250.0,), values=(0.2, 0.95))])
def test_no_data_bar_on_images_without_one(img):
    assert detect_data_bar(img).start_row is None


# ---------------------------------------------------------------------------------- cross-section
CASES = [
    dict(),
    dict(tilt_deg=5, blur_px=2.5, noise=0.06, illumination=0.4),
    dict(tilt_deg=-8, blur_px=2.0, noise=0.08, illumination=0.5, boundaries_px=(80.0, 110.0, 200.0), values=(0.3, 0.7, 0.5, 0.15)),
    dict(shape=(200, 300), boundaries_px=(90.0, 102.0), values=(0.5, 0.9, 0.3), blur_px=1.0, noise=0.04, tilt_deg=3),
]


@pytest.mark.parametrize("kw", CASES)
def test_layer_thickness_within_2_percent_or_1_px(kw):
    img = layered(**kw)
    bps = kw.get("boundaries_px", (100.0, 160.0))
    expected = [(bps[i + 1] - bps[i]) * np.cos(np.radians(kw.get("tilt_deg", 0.0))) for i in range(len(bps) - 1)]
    raw = analyse_cross_section_array(img, n_layers=len(bps) + 1)
    assert raw.status == "ok" and len(raw.boundaries) == len(bps)
    for t, e in zip(raw.thickness_px, expected, strict=True):
        assert abs(np.nanmean(t) - e) <= max(0.02 * e, 1.0)
    for b in raw.boundaries:  # every boundary's own tilt fit recovers the tilt
        assert np.degrees(np.arctan(b.slope)) == pytest.approx(kw.get("tilt_deg", 0.0), abs=0.3)


def test_layers_found_without_being_told_and_roughness():
    img = layered(boundaries_px=(100.0, 160.0), tilt_deg=4, roughness_px=3.0, noise=0.02, blur_px=1.0)
    raw = analyse_cross_section_array(img)  # number of layers not given
    assert len(raw.boundaries) == 2
    rough, flat = raw.boundaries
    cos = np.cos(np.radians(4))
    assert rough.rq_px == pytest.approx(3.0 / np.sqrt(2) * cos, rel=0.15)  # sine of amplitude A: Rq = A/√2
    assert rough.ra_px == pytest.approx(2 * 3.0 / np.pi * cos, rel=0.15)  # Ra = 2A/π
    assert flat.rq_px < 0.5  # a straight (tilted) boundary: tilt removed, only noise left


def test_cross_section_physical_units_and_region(tmp_path):
    p = _save_png(tmp_path / "xs.png", _u8(layered(tilt_deg=2, noise=0.03)))
    a = analyse_image(p, mode="cross-section", pixel_size="20nm", layers=3)
    lay = a.result.cross_section["layers"][1]
    assert lay["thickness_mean_nm"] == pytest.approx(60 * np.cos(np.radians(2)) * 20, abs=20)  # 1 px = 20 nm
    assert lay["thickness_mean_um"] == pytest.approx(lay["thickness_mean_nm"] / 1e3)
    assert lay["thickness_min_nm"] <= lay["thickness_mean_nm"] <= lay["thickness_max_nm"]
    assert len(a.result.cross_section["thickness_profile"]["x_um"]) == len(a.result.cross_section["thickness_profile"]["layer2_thickness_um"])
    # a region that holds only the first boundary
    a2 = analyse_image(p, mode="cross-section", pixel_size="20nm", region="50,40,350,130")
    assert a2.result.cross_section["n_boundaries"] == 1
    assert a2.result.cross_section["boundaries"][0]["mean_depth_um"] == pytest.approx(100 * 0.02, abs=0.03)


def test_no_detectable_boundary_is_a_result_not_a_crash(tmp_path, capsys):
    rng = np.random.default_rng(1)
    noise = np.clip(0.5 + 0.05 * rng.standard_normal((200, 300)), 0, 1)
    raw = analyse_cross_section_array(noise.astype(np.float32))
    assert raw.status == "no_boundary" and "noise" in raw.reason
    p = _save_png(tmp_path / "flat.png", _u8(noise))
    assert main(["sem", str(p), "--mode", "cross-section", "--pixel-size", "10nm", "--json", "-"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "no_boundary" and out["cross_section"]["n_boundaries"] == 0


# -------------------------------------------------------------------------------------- top view
CENTRES = [(60, 60), (60, 160), (160, 60), (170, 180), (300, 300), (300, 323), (80, 320), (250, 100), (250, 134), (340, 60)]
RADII = [10, 15, 8, 20, 12, 12, 25, 20, 15, 18]  # (300,300)+(300,323) and (250,100)+(250,134) touch


@pytest.mark.parametrize("blur,noise,seed", [(1.0, 0.03, 0), (1.5, 0.06, 1), (2.0, 0.08, 2)])
def test_disks_counted_exactly_and_sized_within_3_percent(blur, noise, seed):
    img = disks(centres=CENTRES, radii=RADII, blur_px=blur, noise=noise, seed=seed)
    raw = analyse_top_view_array(img)
    assert len(raw.objects) == len(CENTRES)  # touching pairs split by the watershed
    for (cy, cx), r in zip(CENTRES, RADII, strict=True):
        o = min(raw.objects, key=lambda o: (o["centroid_row_px"] - cy) ** 2 + (o["centroid_col_px"] - cx) ** 2)
        assert o["equivalent_diameter_px"] == pytest.approx(2 * r, rel=0.03)
        assert o["circularity"] > 0.85 and o["aspect_ratio"] < 1.1


def test_dark_objects_and_dendrite_indicator():
    img = disks(centres=CENTRES, radii=RADII)
    inv = analyse_top_view_array(1 - img, objects="dark")
    assert len(inv.objects) == len(CENTRES)
    compact = analyse_top_view_array(img)
    tree = analyse_top_view_array(branched(n=6, width=3))
    assert len(tree.objects) == 6  # branched shapes are not cut apart at their junctions
    assert all(o["branch_points"] == 4 for o in tree.objects)  # 2 side-branch pairs on each half of the trunk
    ind = lambda r: np.mean([o["skeleton_length_px"] / o["equivalent_diameter_px"] for o in r.objects])  # noqa: E731
    assert ind(tree) > 2.0 > 0.5 > ind(compact)
    assert tree.n_branch_points >= 10 * max(compact.n_branch_points, 1)  # 24 vs 0-1 (a stub on a digital disk)


def test_index_of_dispersion_clustered_above_uniform():
    grid = [(40 + 80 * i, 40 + 80 * j) for i in range(5) for j in range(5)]
    rng = np.random.default_rng(3)
    clustered = [(100 + rng.uniform(-60, 60), 100 + rng.uniform(-60, 60)) for _ in range(25)]
    uniform = analyse_top_view_array(disks(centres=grid, radii=[10] * 25), id_grid=5)
    clumped = analyse_top_view_array(disks(centres=clustered, radii=[10] * 25), id_grid=5)
    assert clumped.id_max > 5 * uniform.id_max
    assert len(uniform.id_curve) > 10


def test_porosity_and_coverage(tmp_path):
    mask = np.zeros((200, 200), bool)
    mask[40:160, 40:160] = True  # a 120 x 120 film with four 20 x 20 pores
    for y, x in ((60, 60), (60, 120), (120, 60), (120, 120)):
        mask[y : y + 20, x : x + 20] = False
    img = np.where(mask, 0.8, 0.2).astype(np.float32)
    p = _save_png(tmp_path / "film.png", _u8(img))
    tv = analyse_image(p, pixel_size="1um").result.top_view
    assert tv["porosity_fraction"] == pytest.approx(4 * 400 / 14400, abs=0.01)
    assert tv["coverage_fraction"] == pytest.approx(mask.mean(), abs=0.01)


def test_real_zeiss_top_view_particles():
    """Checked by eye on the overlay (tests write it with `dsei sem ... --overlay`; drawn at 4x with labels):
    25 bright particles are outlined, each one a distinct bright particle (none on the bare substrate or
    the crack), 7 of them cut by the image edge; 3 more by eye are not found: a dim grey domed particle at
    (x 492, y 229), a small one on the right edge at (509, 64) and a small oval at (364, 169). The
    pair at (277, 307) may be two touching particles; it is counted as one. Eye count 28 ± 1 against 25.
    The largest particle (x 277, y 307) is ~25 px across by eye = 290 nm."""
    a = analyse_image(ZEISS)
    tv = a.result.top_view
    assert 22 <= tv["count"] <= 30
    assert tv["count_touching_edge"] == 7
    assert 0.15 < tv["equivalent_diameter_mean_um"] < 0.22
    assert tv["equivalent_diameter_max_um"] == pytest.approx(0.29, abs=0.03)
    assert 0.01 < tv["coverage_fraction"] < 0.05
    # nothing inside the data bar (rows >= 350) was measured
    assert max(r["y_um"] for r in a.objects) < 350 * a.result.pixel_size_um


# ------------------------------------------------------------------------------------- bad input
def test_not_an_image_and_truncated_tiff(tmp_path, capsys):
    txt = tmp_path / "notes.tif"
    txt.write_text("this is not an image")
    assert main(["sem", str(txt)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "not an image" in err and len(err.splitlines()) == 1
    data = FEI8.read_bytes()
    cut = tmp_path / "cut.tif"
    cut.write_bytes(data[: len(data) // 3])
    assert main(["sem", str(cut)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "truncated" in err and len(err.splitlines()) == 1


def test_16bit_rgb_and_palette_give_the_same_answer(tmp_path):
    from PIL import Image

    img = disks(centres=CENTRES, radii=RADII)
    ref = analyse_top_view_array(img)
    p16 = tmp_path / "d16.tif"
    tifffile.imwrite(p16, (img * 65535).round().astype(np.uint16))
    prgb = _save_png(tmp_path / "rgb.png", np.repeat(_u8(img)[..., None], 3, axis=2))
    ppal = tmp_path / "pal.png"
    Image.fromarray(_u8(img)).convert("P").save(ppal)
    for p, mode in ((p16, "grey"), (prgb, "rgb"), (ppal, "palette")):
        a = analyse_image(p, pixel_size="10nm")
        assert a.image.original_mode == mode
        assert a.result.top_view["count"] == len(ref.objects)
        assert a.result.top_view["equivalent_diameter_mean_um"] * 100 == pytest.approx(np.mean([o["equivalent_diameter_px"] for o in ref.objects]), rel=0.02)


def test_huge_image_refused_with_bounded_memory(tmp_path, capsys):
    big = tmp_path / "big.tif"
    mm = tifffile.memmap(big, shape=(20_000, 20_000), dtype=np.uint8)  # written lazily: a sparse file
    mm[:10, :10] = 255
    mm.flush()
    del mm
    tracemalloc.start()
    assert main(["sem", str(big), "--pixel-size", "1um"]) == 2
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    err = capsys.readouterr().err
    assert "--max-pixels" in err and "400,000,000" in err
    assert peak < 50e6  # the header only: not one copy of the 400 MB of pixels


def test_no_pixel_size_anywhere_names_the_option(tmp_path, capsys):
    p = _save_png(tmp_path / "plain.png", _u8(layered()))
    assert main(["sem", str(p), "--mode", "cross-section"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "--pixel-size" in err and len(err.splitlines()) == 1


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--mode", "side"], "--mode"),
        (["--pixel-size", "abc"], "--pixel-size"),
        (["--region", "10,10,5,5"], "--region"),
        (["--layers", "1", "--mode", "cross-section"], "--layers"),
        (["--data-bar", "maybe"], "--data-bar"),
    ],
)
def test_bad_options(args, needle, capsys):
    assert main(["sem", str(ZEISS), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and needle in err


# ---------------------------------------------------------------------------------------- outputs
def test_cli_outputs_json_csv_overlay_html(tmp_path):
    out = tmp_path / "out"
    rc = main(["sem", str(ZEISS), "--json", str(out / "z.json"), "--csv", str(out / "z.csv"), "--overlay", str(out / "z.png"), "--html", str(out / "z.html")])
    assert rc == 0
    d = json.loads((out / "z.json").read_text())
    assert d["schema_version"] and d["pixel_size_nm"] == pytest.approx(11.65, abs=0.01)
    assert d["pixel_size_source"].startswith("Zeiss tag 34118")
    assert d["top_view"]["count"] == len((out / "z.csv").read_text().strip().splitlines()) - 1
    from PIL import Image

    assert Image.open(out / "z.png").size == (512, 384)
    page = (out / "z.html").read_text()
    assert "<h2>Microscopy</h2>" in page and "Plotly.newPlot" in page and "data:image/png;base64" in page


def test_folder_compare_with_one_bad_file(tmp_path, capsys):
    folder = tmp_path / "imgs"
    folder.mkdir()
    (folder / "a_zeiss.tif").write_bytes(ZEISS.read_bytes())
    (folder / "b_broken.tif").write_bytes(b"II*\x00garbage")
    _save_png(folder / "c_disks.png", _u8(disks(centres=CENTRES, radii=RADII)))
    rc = main(["sem", str(folder), "--compare", "--pixel-size", "10nm", "--json", str(tmp_path / "cmp.json"), "--overlay", str(tmp_path / "ov")])
    assert rc == 0  # the broken file is reported and the others analysed
    cmp = json.loads((tmp_path / "cmp.json").read_text())
    status = {r["file"]: r["status"] for r in cmp["rows"]}
    assert status == {"a_zeiss.tif": "ok", "b_broken.tif": "failed", "c_disks.png": "ok"}
    assert {r["file"]: r.get("count") for r in cmp["rows"]}["c_disks.png"] == len(CENTRES)
    assert "warning:" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "ov").iterdir()) == ["a_zeiss_overlay.png", "c_disks_overlay.png"]
    api = compare_images([folder / "a_zeiss.tif", folder / "c_disks.png"], pixel_size="10nm")
    assert [r["count"] for r in api.rows] == [r["count"] for r in cmp["rows"] if r["status"] == "ok"]


def test_vectorised_object_measures_equal_regionprops():
    from skimage.measure import regionprops

    raw = analyse_top_view_array(disks(centres=CENTRES, radii=RADII, noise=0.05))
    ref = {rp.label: rp for rp in regionprops(raw.labels)}
    for o in raw.objects:
        rp = ref[o["label"]]
        assert o["area_px"] == rp.area
        assert o["centroid_row_px"] == pytest.approx(rp.centroid[0]) and o["centroid_col_px"] == pytest.approx(rp.centroid[1])
        assert o["major_axis_px"] == pytest.approx(rp.axis_major_length, rel=1e-6)
        assert o["minor_axis_px"] == pytest.approx(rp.axis_minor_length, rel=1e-6)
        assert o["equivalent_diameter_px"] == pytest.approx(rp.equivalent_diameter_area)
        assert o["perimeter_px"] == pytest.approx(rp.perimeter, rel=0.05)  # contacts of split pairs differ slightly


def test_flatten_removes_uneven_illumination():
    img = disks(centres=CENTRES, radii=RADII, noise=0.03)
    x = np.arange(400)[None, :] / 400
    y = np.arange(400)[:, None] / 400
    lit = (img * (0.7 + 0.6 * x) * (1 + 0.18 * (y - 0.5))).astype(np.float32)  # ±30 % across, ±9 % down
    assert len(analyse_top_view_array(lit).objects) != len(CENTRES)  # a global threshold alone fails here
    raw = analyse_top_view_array(lit, flatten=True)
    assert len(raw.objects) == len(CENTRES)
    for (cy, cx), r in zip(CENTRES, RADII, strict=True):
        o = min(raw.objects, key=lambda o: (o["centroid_row_px"] - cy) ** 2 + (o["centroid_col_px"] - cx) ** 2)
        assert o["equivalent_diameter_px"] == pytest.approx(2 * r, rel=0.03)


def test_analyse_images_api_reports_progress_and_failures(tmp_path):
    good = _save_png(tmp_path / "a.png", _u8(disks(centres=CENTRES, radii=RADII)))
    bad = tmp_path / "b.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n broken")
    seen = []
    out = analyse_images([good, bad], progress=lambda i, n, p: seen.append((i, n, Path(p).name)), pixel_size="1um")
    assert seen == [(0, 2, "a.png"), (1, 2, "b.png")]
    assert [a.result.status for a in out] == ["ok", "failed"] and "truncated" in out[1].result.reason


def test_more_layers_asked_than_present_is_partial():
    raw = analyse_cross_section_array(layered(noise=0.03), n_layers=5)
    assert raw.status == "partial" and "only 2" in raw.reason
    assert len(raw.boundaries) == 2


def test_tilt_correction_for_fib_cross_sections(tmp_path, capsys):
    p = _save_png(tmp_path / "fib.png", _u8(layered(noise=0.03)))
    plain = analyse_image(p, mode="cross-section", pixel_size="10nm", layers=3).result
    fib = analyse_image(p, mode="cross-section", pixel_size="10nm", layers=3, tilt_correction_deg=52).result
    t0 = plain.cross_section["layers"][1]["thickness_mean_nm"]
    assert t0 == pytest.approx(600, abs=10)
    assert fib.cross_section["layers"][1]["thickness_mean_nm"] == pytest.approx(t0 / np.sin(np.radians(52)), rel=1e-9)
    assert fib.cross_section["vertical_scale_factor"] == pytest.approx(1 / np.sin(np.radians(52)))
    assert main(["sem", str(p), "--mode", "cross-section", "--pixel-size", "10nm", "--tilt-correction", "200"]) == 2
    assert "--tilt-correction" in capsys.readouterr().err


@pytest.mark.parametrize("thick,texture", [(12.0, 0.15), (25.0, 0.15), (8.0, 0.10)])
def test_thin_layer_in_textured_grains(thick, texture):
    """A thin bright SEI between two darker layers, all three with grain texture (correlated over ~3 px,
    as large as 40 % of the SEI's contrast): both boundaries found without --layers, thickness within 1 px."""
    from scipy import ndimage as ndi

    img = layered(shape=(500, 700), boundaries_px=(200.0, 200.0 + thick), values=(0.45, 0.85, 0.25), tilt_deg=3, blur_px=1.5, noise=0.05, illumination=0.3)
    tex = ndi.gaussian_filter(np.random.default_rng(5).standard_normal(img.shape), 3)
    img = np.clip(img + texture * tex / tex.std(), 0, 1).astype(np.float32)
    raw = analyse_cross_section_array(img)
    assert len(raw.boundaries) == 2
    assert np.nanmean(raw.thickness_px[0]) == pytest.approx(thick * np.cos(np.radians(3)), abs=1.0)
    assert np.degrees(np.arctan(raw.tilt_slope)) == pytest.approx(3.0, abs=0.2)
