"""Readers: real BioLogic .mpr through galvani, unit parsing, column maps and clear input errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dsei.cells import cycle, half_cycles, read_record
from dsei.cells.readers import detect_format, parse_unit
from dsei.errors import InputError

from . import simulator as sim

REAL_MPR = Path(__file__).parent / "data" / "jdb11-1_c3_gcpl_5cycles_2V-3p8V_C-24_data_C09.mpr"


def test_real_biologic_mpr_round_trip():
    """A real EC-Lab GCPL file (from the navani sdist): galvani reads it, dsei turns dq/mA.h into the
    current, and the per-half-cycle capacities equal EC-Lab's own 'Q charge/discharge/mA.h'."""
    from galvani import BioLogic

    raw = BioLogic.MPRfile(str(REAL_MPR)).data
    hc, fmt = half_cycles(REAL_MPR)
    assert fmt == "biologic-mpr"
    assert hc.n_rows == len(raw) == 46102
    q = raw["Q charge/discharge/mA.h"]
    half = raw["half cycle"]
    ends = [abs(q[half == h][-1]) for h in np.unique(half)]
    np.testing.assert_allclose(hc.charge_mAh, ends, rtol=2e-3)
    assert list(hc.sign[:3]) == [-1, 1, -1]
    # the C/24 current set point, 0.0888 mA
    np.testing.assert_allclose(hc.current_mA, 0.088796, rtol=1e-3)
    df = read_record(REAL_MPR)
    assert df["time_h"].iloc[-1] == pytest.approx(raw["time/s"][-1] / 3600)
    assert df["voltage_V"].between(1.9, 3.9).all()
    r = cycle(REAL_MPR, cell="full", mass_mg=10.0)
    assert r.cycles == 7 and r.format == "biologic-mpr"


def test_mpr_without_current_is_an_input_error(tmp_path):
    bad = tmp_path / "bad.mpr"
    bad.write_bytes(b"BIO-LOGIC MODULAR FILE\x1a" + b"\x00" * 64)
    with pytest.raises(InputError, match="bad.mpr"):
        cycle(bad)


@pytest.mark.parametrize(
    "name,unit",
    [("time/s", "s"), ("Time (h)", "h"), ("t[min]", "min"), ("Ewe/mV", "mV"), ("<I>/mA", "mA"), ("Current(A)", "A"),
     ("Current/uA", "uA"), ("j / mA cm-2", "mA/cm2"), ("Current density (mA/cm2)", "mA/cm2"), ("time_s", "s"), ("Total Time", None)],
)
def test_parse_unit(name, unit):
    assert parse_unit(name) == unit


def test_generic_with_user_columns_and_units(tmp_path):
    rec = sim.symmetric(duration_h=30, dt_s=60, seed=11)
    p = tmp_path / "lab.txt"
    import pandas as pd

    pd.DataFrame({"elapsed": rec.time_s / 60, "E": rec.voltage_V, "I": rec.current_mA / 1000}).to_csv(p, sep=";", index=False)
    # 'E' and 'I' are generic synonyms; 'elapsed' too, but its unit is minutes and current is in A
    r = cycle(p, area_cm2=rec.area_cm2, columns={"time": "elapsed", "voltage": "E", "current": "I"}, units={"time": "min", "current": "A"})
    assert r.duration_h == pytest.approx(30, rel=1e-3)
    assert r.current_density_mA_cm2 == pytest.approx(15, rel=1e-3)
    assert r.overpotential_mV["median"] == pytest.approx(25, rel=0.05)


def test_detect_formats(tmp_path):
    rec = sim.symmetric(duration_h=4, dt_s=120, seed=12)
    for fmt, name in [("neware", "a.csv"), ("land", "b.csv"), ("arbin", "c.csv"), ("generic", "d.csv"), ("biologic-mpt", "e.mpt"),
                      ("land", "f.xlsx"), ("neware", "g.xlsx"), ("arbin", "h.xlsx")]:
        p = sim.write(rec, fmt, tmp_path / name)
        assert detect_format(p) == fmt, name


def test_arbin_xlsx_split_over_sheets(tmp_path):
    rec = sim.symmetric(duration_h=20, dt_s=120, failure="hard_short", t_fail_h=13.3, seed=13)
    p = sim.write_xlsx(sim.arbin_frame(rec), tmp_path / "split.xlsx", "arbin", rows_per_sheet=200)
    r = cycle(p, area_cm2=rec.area_cm2)
    assert r.n_rows == len(rec)
    assert r.failure.kind == "hard_short" and r.failure.time_h == pytest.approx(13.3, rel=0.01)


@pytest.mark.parametrize(
    "content,needle",
    [
        ("DataPoint,Step Type,Voltage(V)\n1,CC Chg,3.1\n", "neware file lacks the time, current column"),
        ("foo,bar\n1,2\n", "cannot find the time, voltage, current"),
        ("just some words\nno numbers here\n", "no header line"),
        ("time/s,Ewe/V,I/mA\n0,0.01,1\n1,abc,1\n", "not numeric|bad row|conversion"),
    ],
)
def test_unreadable_files_name_file_and_problem(tmp_path, content, needle):
    p = tmp_path / "broken.csv"
    p.write_text(content)
    with pytest.raises(InputError) as exc:
        cycle(p)
    msg = str(exc.value)
    assert str(p) in msg
    import re

    assert re.search(needle, msg), msg


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        cycle(tmp_path / "nope.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(InputError, match="empty file"):
        cycle(tmp_path / "empty.csv")
    with pytest.raises(InputError, match="^cell: must be symmetric or full"):
        cycle(tmp_path / "empty.csv", cell="half")


def test_current_density_file_needs_area(tmp_path):
    rec = sim.symmetric(duration_h=4, seed=14)
    p = sim.write(rec, "generic", tmp_path / "j.csv")
    with pytest.raises(InputError, match="current density only"):
        cycle(p)


def test_mpt_missing_header_count(tmp_path):
    p = tmp_path / "x.mpt"
    p.write_text("EC-Lab ASCII FILE\nsomething else\n")
    with pytest.raises(InputError, match="Nb header lines"):
        cycle(p)


def test_real_arbin_xlsx():
    """A real Arbin export: the column map, the Channel_* sheet and A → mA; half-cycle capacities
    add up to Arbin's own per-cycle Charge_/Discharge_Capacity(Ah)."""
    path = Path(__file__).parent / "data" / "bs542_004_gr_li_50ua_50mv_1v_191020_Channel_11.xlsx"
    hc, fmt = half_cycles(path)
    assert fmt == "arbin" and hc.n_rows == 4526
    assert list(hc.sign) == [-1, 1, -1, 1]
    dis = hc.charge_mAh[hc.sign < 0].sum()
    chg = hc.charge_mAh[hc.sign > 0].sum()
    assert dis == pytest.approx(11.054898, rel=1e-3)  # max Discharge_Capacity(Ah) × 1000 of cycle 1
    assert chg == pytest.approx(5.702703, rel=1e-3)
    np.testing.assert_allclose(hc.current_mA[:3], 0.05, rtol=0.01)  # 50 µA (the 4th is a 6-min stub)
    r = cycle(path, cell="full")
    assert r.capacity["cycle_starts_with"] == "discharge"
