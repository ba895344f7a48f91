"""Read SEM images with their physical pixel size.

The pixel data and the vendors' metadata tags are read with tifffile (the maintained reader behind
RosettaSciIO's TIFF plugin: it parses FEI/Thermo tag 34682 and Zeiss tag 34118 itself); PNG/JPEG/BMP
with Pillow. The pixel size comes from, in order:

1. ``pixel_size`` given by the user (``--pixel-size 2.6um``), which overrides any metadata;
2. FEI / Thermo Fisher tag 34682, ``[Scan] PixelWidth`` (m) (``[EScan]``/``[IScan]`` as fallbacks);
3. Zeiss tag 34118 (CZ_SEM): ``Width`` (the field of view) / image width in px. This is what
   RosettaSciIO does too (``CZ_SEM[''][3]`` x 1024 / width): the ``Pixel Size`` entry refers to the
   1024-px scan and is wrong for images stored at another resolution (e.g. the 512-px test file);
4. TESCAN tag 50431 (INI text), ``PixelSizeX`` (m);
5. an ImageJ-calibrated TIFF (``unit=micron``/``nm`` with XResolution = px per unit);
6. a sidecar ``.txt`` with the same stem: Hitachi (``PixelSize=`` in nm, ``DataSize=WxH``) or JEOL
   (``$$SM_MICRON_MARKER`` length over ``$$SM_MICRON_BAR`` px, ``$CM_FULL_SIZE W H``).

Every image becomes one float32 grey array in [0, 1] (integer data divided by its dtype's maximum;
RGB/RGBA converted with ITU-R BT.709 luma by :func:`skimage.color.rgb2gray`; palette images mapped
through their colour map first). The pixel count is checked against ``max_pixels`` *before* any pixel
is decoded, so a huge file never costs more memory than its header.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dsei.errors import InputError

#: default pixel cap: 64 Mpx (e.g. 8192 x 8192) -> ~256 MB per float32 copy; a 4096 x 3072 image is 12.6 Mpx
DEFAULT_MAX_PIXELS = 64_000_000
IMAGE_SUFFIXES = (".tif", ".tiff", ".png", ".jpg", ".jpeg", ".bmp")

_UNITS_UM = {"pm": 1e-6, "nm": 1e-3, "um": 1.0, "µm": 1.0, "μm": 1.0, "micron": 1.0, "microns": 1.0, "mm": 1e3, "m": 1e6}


@dataclass
class SemImage:
    """A grey SEM image with its physical scale."""

    path: str
    grey: np.ndarray  # float32, [0, 1], shape (rows, cols)
    pixel_size_um: float
    pixel_size_source: str
    vendor: str
    original_dtype: str
    original_mode: str  # "grey", "rgb", "rgba", "palette"
    notes: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)  # small, JSON-able: what the analysis used

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.grey.shape)  # type: ignore[return-value]


def parse_pixel_size(text: str | float | None, option: str = "--pixel-size") -> float | None:
    """``'2.6um'``, ``'500 nm'``, ``'0.5µm'`` → µm. A bare number is refused (the unit must be explicit)."""
    if text is None or text == "":
        return None
    if isinstance(text, int | float):
        value = float(text)
        if not np.isfinite(value) or value <= 0:
            raise InputError(option, f"must be a positive size, got {text!r}")
        return value
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([a-zA-Zµμ]+)\s*", str(text))
    if not m:
        raise InputError(option, f"expected a number with a unit, e.g. 2.6um or 500nm, got {text!r}")
    value, unit = float(m.group(1)), m.group(2)
    factor = _UNITS_UM.get(unit) or _UNITS_UM.get(unit.lower())
    if factor is None:
        raise InputError(option, f"unknown unit {unit!r} (use nm, um/µm, mm or m)")
    if value <= 0:
        raise InputError(option, "must be positive")
    return value * factor


def _sniff(path: Path) -> str:
    with open(path, "rb") as fh:
        head = fh.read(16)
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if head[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if head[:2] == b"BM":
        return "bmp"
    return ""


def _check_pixels(path: Path, rows: int, cols: int, max_pixels: int) -> None:
    if rows * cols > max_pixels:
        raise InputError(
            path,
            f"{cols} x {rows} = {rows * cols:,} pixels is above the cap of {max_pixels:,} (memory); "
            "crop or downsample the image, or raise --max-pixels",
        )
    if rows < 16 or cols < 16:
        raise InputError(path, f"image is {cols} x {rows} px: too small to analyse (at least 16 x 16)")


def _to_grey(arr: np.ndarray, mode: str) -> np.ndarray:
    """Any numeric array (H, W), (H, W, 3|4) → float32 in [0, 1] without float64 copies of big images."""
    if arr.dtype.kind == "u":
        scale = float(np.iinfo(arr.dtype).max)
    elif arr.dtype.kind == "i":
        info = np.iinfo(arr.dtype)
        arr = arr.astype(np.float32) - np.float32(info.min)
        scale = float(info.max) - float(info.min)
    elif arr.dtype == bool:
        arr, scale = arr.astype(np.float32), 1.0
    else:
        arr = arr.astype(np.float32, copy=False)
        lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
        arr = (arr - lo) / (hi - lo if hi > lo else 1.0)
        scale = 1.0
    if arr.ndim == 3:
        if arr.shape[2] == 4:
            arr = arr[..., :3]
        if arr.shape[2] == 3:
            rgb = arr.astype(np.float32) / np.float32(scale)
            grey = (0.2125 * rgb[..., 0] + 0.7154 * rgb[..., 1] + 0.0721 * rgb[..., 2]).astype(np.float32)  # skimage.color.rgb2gray weights
            return np.clip(grey, 0, 1)
        if arr.shape[2] in (1, 2):
            arr = arr[..., 0]
    out = arr.astype(np.float32) / np.float32(scale)
    return np.clip(out, 0, 1, out=out)


def _tiff_pixel_size(tif, page, path: Path) -> tuple[float | None, str, str, dict]:
    """(pixel size µm or None, source, vendor, small metadata) from the vendor tags that tifffile parses."""
    meta: dict[str, Any] = {}
    cols = page.shape[1]
    fei = getattr(tif, "fei_metadata", None)
    if fei:
        img = fei.get("Image", {}) or {}
        priv = fei.get("PrivateFei", {}) or {}
        meta = {k: v for k, v in {"ResolutionY": img.get("ResolutionY"), "DatabarHeight": priv.get("DatabarHeight")}.items() if v is not None}
        stage_t = (fei.get("Stage") or {}).get("StageT")
        if isinstance(stage_t, int | float):
            meta["stage_tilt_deg"] = float(np.degrees(stage_t))
        tc = (fei.get("EScan") or fei.get("IScan") or {}).get("TiltCorrectionIsOn")
        if tc is not None:
            meta["tilt_correction_on"] = str(tc).lower() in ("yes", "on", "true", "1")
        for section in ("Scan", "EScan", "IScan"):
            pw = (fei.get(section) or {}).get("PixelWidth")
            if pw:
                return float(pw) * 1e6, f"FEI tag 34682 [{section}] PixelWidth", "FEI/Thermo Fisher", meta
        return None, "", "FEI/Thermo Fisher", meta
    sem = getattr(tif, "sem_metadata", None)
    if sem:
        width = sem.get("ap_width")
        if width and len(width) >= 3 and float(width[1]) > 0:
            meta["ap_width_um"] = float(width[1]) * _UNITS_UM.get(str(width[2]).replace("μ", "µ"), 1.0)
        if "ap_pixel_size" in sem:
            meta["ap_pixel_size"] = f"{sem['ap_pixel_size'][1]} {sem['ap_pixel_size'][2]}"
        raw = sem.get("")
        if raw and len(raw) > 3 and float(raw[3]) > 0:
            # the primary (unlabelled) CZ_SEM record holds the pixel size of the 1024-px scan in m
            return (
                float(raw[3]) * 1e6 * 1024 / cols,
                f"Zeiss tag 34118 pixel size ({float(raw[3]) * 1e9:.4g} nm at 1024 px) x 1024 / {cols} px (as RosettaSciIO)",
                "Zeiss",
                meta,
            )
        if "ap_width_um" in meta:
            return meta["ap_width_um"] / cols, f"Zeiss tag 34118 Width ({meta['ap_width_um']:g} µm) / {cols} px", "Zeiss", meta
        if "ap_pixel_size" in sem:
            v = sem["ap_pixel_size"]
            return float(v[1]) * _UNITS_UM.get(str(v[2]), 1e-3), "Zeiss tag 34118 Pixel Size", "Zeiss", meta
        return None, "", "Zeiss", meta
    tag = page.tags.get(50431)
    if tag is not None:
        text = tag.value.decode("latin-1", "replace") if isinstance(tag.value, bytes) else str(tag.value)
        m = re.search(r"PixelSizeX\s*=\s*([0-9.eE+-]+)", text)
        if m and float(m.group(1)) > 0:
            return float(m.group(1)) * 1e6, "TESCAN tag 50431 PixelSizeX", "TESCAN", meta
        return None, "", "TESCAN", meta
    ij = getattr(tif, "imagej_metadata", None)
    if ij and str(ij.get("unit", "")).replace("\\u00B5", "µ") in ("micron", "um", "µm", "nm"):
        xres = page.tags.get(282)
        if xres is not None:
            num, den = xres.value
            if num > 0:
                unit = str(ij["unit"]).replace("\\u00B5", "µ")
                return den / num * _UNITS_UM.get(unit, 1.0), f"ImageJ calibration (XResolution, unit={unit})", "ImageJ", meta
    return None, "", "", meta


def _to_image_width(px_um: float, full, key: str, cols: int) -> tuple[float, str]:
    """A sidecar's pixel size is for the scan width ``full.group(1)`` (the ``key`` entry); rescale it to an image
    saved ``cols`` pixels wide, and say so."""
    if full and int(full.group(1)) != cols:
        return px_um * int(full.group(1)) / cols, f", scaled from {key} {full.group(1)} px to {cols} px"
    return px_um, ""


def _sidecar_pixel_size(path: Path, cols: int) -> tuple[float | None, str, str]:
    """JEOL / Hitachi write the metadata into ``<stem>.txt`` next to the image."""
    for cand in (path.with_suffix(".txt"), path.with_suffix(".TXT")):
        if not cand.is_file():
            continue
        text = cand.read_text(encoding="latin-1", errors="replace")
        m = re.search(r"^\s*PixelSize\s*=\s*([0-9.eE+-]+)", text, re.M)
        if m and float(m.group(1)) > 0:  # Hitachi: nm at DataSize resolution
            ds = re.search(r"^\s*DataSize\s*=\s*(\d+)\s*x\s*(\d+)", text, re.M)
            px_um, note = _to_image_width(float(m.group(1)) * 1e-3, ds, "DataSize", cols)
            return px_um, f"Hitachi sidecar {cand.name} PixelSize (nm){note}", "Hitachi"
        bar = re.search(r"^\s*\$\$SM_MICRON_BAR\s+([0-9.]+)", text, re.M)
        marker = re.search(r"^\s*\$\$SM_MICRON_MARKER\s+([0-9.]+)\s*([a-zA-Zµμ]+)", text, re.M)
        if bar and marker and float(bar.group(1)) > 0:
            unit = marker.group(2)
            px_um = float(marker.group(1)) * _UNITS_UM.get(unit, _UNITS_UM.get(unit.lower(), 1.0)) / float(bar.group(1))
            full = re.search(r"^\s*\$CM_FULL_SIZE\s+(\d+)\s+(\d+)", text, re.M)
            px_um, note = _to_image_width(px_um, full, "$CM_FULL_SIZE", cols)
            return px_um, f"JEOL sidecar {cand.name} $$SM_MICRON_MARKER / $$SM_MICRON_BAR{note}", "JEOL"
    return None, "", ""


def read_image(path: str | Path, pixel_size: str | float | None = None, max_pixels: int = DEFAULT_MAX_PIXELS) -> SemImage:
    """Read ``path`` as a grey float32 image with its pixel size (µm) and where it came from.

    ``pixel_size``: ``'2.6um'``/``'500nm'`` or a number in µm; overrides the metadata.
    Raises :class:`~dsei.errors.InputError` for anything that is not a readable image, an image above
    ``max_pixels``, or an image with no pixel size anywhere (the message names ``--pixel-size``).
    """
    path = Path(path)
    user_um = parse_pixel_size(pixel_size)
    if not path.exists():
        raise InputError(path, "no such file")
    if not path.is_file():
        raise InputError(path, "not a file")
    kind = _sniff(path)
    if not kind:
        raise InputError(path, "not an image (no TIFF, PNG, JPEG or BMP signature)")
    notes: list[str] = []
    meta: dict[str, Any] = {}
    px_um, source, vendor = None, "", ""
    if kind == "tiff":
        grey, mode, dtype, (px_um, source, vendor, meta) = _read_tiff(path, max_pixels, notes)
    else:
        grey, mode, dtype = _read_pillow(path, kind, max_pixels)
    if mode != "grey":
        notes.append(f"{mode} image converted to grey (BT.709 luma)")
    if px_um is None:
        px_um, source, side_vendor = _sidecar_pixel_size(path, grey.shape[1])
        vendor = vendor or side_vendor
    if user_um is not None:
        if px_um is not None:
            notes.append(f"--pixel-size {user_um:g} µm overrides the metadata's {px_um:g} µm ({source})")
        px_um, source = user_um, "--pixel-size"
    if px_um is None or not np.isfinite(px_um) or px_um <= 0:
        raise InputError(path, "no pixel size in the metadata (FEI, Zeiss, TESCAN, ImageJ tags or a JEOL/Hitachi .txt): give it with --pixel-size, e.g. --pixel-size 2.6um")
    return SemImage(
        path=str(path),
        grey=np.ascontiguousarray(grey, dtype=np.float32),
        pixel_size_um=float(px_um),
        pixel_size_source=source,
        vendor=vendor or "unknown",
        original_dtype=dtype,
        original_mode=mode,
        notes=notes,
        metadata=meta,
    )


def _read_tiff(path: Path, max_pixels: int, notes: list[str]):
    """(grey, mode, original dtype, (pixel size µm, its source, vendor, metadata)) of the first page of a TIFF."""
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            page = tif.pages.first if hasattr(tif.pages, "first") else tif.pages[0]
            shape = page.shape
            if len(shape) < 2:
                raise InputError(path, f"TIFF page of shape {shape} is not a 2-D image")
            if len(shape) == 3 and shape[0] in (3, 4) and shape[-1] not in (3, 4):  # planar RGB
                rows, cols = shape[1], shape[2]
            else:
                rows, cols = shape[0], shape[1]
            _check_pixels(path, rows, cols, max_pixels)
            pixel = _tiff_pixel_size(tif, page, path)
            arr = page.asarray()
            photometric = int(page.photometric)
            colormap = page.colormap if photometric == 3 else None
            if len(tif.pages) > 1:
                notes.append(f"multi-page TIFF: the first of {len(tif.pages)} pages was analysed")
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - tifffile raises many types for broken files
        raise InputError(path, f"unreadable or truncated TIFF ({type(exc).__name__}: {' '.join(str(exc).split())[:120]})") from None
    if arr.ndim == 3 and arr.shape[0] in (3, 4) and arr.shape[-1] not in (3, 4):
        arr = np.moveaxis(arr, 0, -1)
    if colormap is not None:
        mode = "palette"
        cmap = np.asarray(colormap, dtype=np.float32) / 65535.0  # (3, 2**bits)
        grey_lut = (0.2125 * cmap[0] + 0.7154 * cmap[1] + 0.0721 * cmap[2]).astype(np.float32)
        grey = grey_lut[np.clip(arr.astype(np.intp), 0, grey_lut.size - 1)]
    else:
        mode = {2: "grey"}.get(arr.ndim, "rgba" if arr.ndim == 3 and arr.shape[2] == 4 else "rgb")
        grey = _to_grey(arr, mode)
    return grey, mode, str(arr.dtype), pixel


def _read_pillow(path: Path, kind: str, max_pixels: int):
    """(grey, mode, original dtype) of a PNG, JPEG or BMP image (Pillow)."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            cols, rows = im.size
            _check_pixels(path, rows, cols, max_pixels)
            Image.MAX_IMAGE_PIXELS = max(max_pixels, Image.MAX_IMAGE_PIXELS or 0)
            pil_mode = im.mode
            if pil_mode == "P" or pil_mode == "PA":
                im = im.convert("RGBA" if "transparency" in im.info or pil_mode == "PA" else "RGB")
                mode = "palette"
            elif pil_mode in ("CMYK", "YCbCr", "LAB", "HSV"):
                im = im.convert("RGB")
                mode = "rgb"
            else:
                mode = {"RGB": "rgb", "RGBA": "rgba", "LA": "grey"}.get(pil_mode, "grey")
            arr = np.asarray(im)
            if pil_mode == "LA":
                arr = arr[..., 0]
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types for broken files
        raise InputError(path, f"unreadable or truncated {kind.upper()} ({type(exc).__name__}: {' '.join(str(exc).split())[:120]})") from None
    dtype = str(arr.dtype)
    if pil_mode.startswith("I;16") or (arr.dtype == np.int32 and pil_mode == "I"):
        arr = arr.astype(np.uint16) if arr.max() <= 65535 else arr
    return _to_grey(arr, mode), mode, dtype
