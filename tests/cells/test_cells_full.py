"""Full cells (NCM811-like): capacity, CE, retention, rate table, average voltages and hysteresis."""

from __future__ import annotations

import numpy as np
import pytest

from dsei.cells import cycle

from . import simulator as sim


@pytest.fixture(scope="module")
def rate_test():
    return sim.full_cell()


@pytest.mark.parametrize("fmt,name", [("arbin", "f.csv"), ("neware", "f.xlsx"), ("biologic-mpt", "f.mpt"), ("land", "f.csv")])
def test_rate_capability_every_format(tmp_path, rate_test, fmt, name):
    rec, truth = rate_test
    r = cycle(sim.write(rec, fmt, tmp_path / name), cell="full", mass_mg=rec.mass_mg)
    assert r.cycles == len(truth.c_rates)
    assert r.capacity["unit"] == "mAh/g"
    dis = np.array(r.per_cycle["discharge_capacity"])
    chg = np.array(r.per_cycle["charge_capacity"])
    np.testing.assert_allclose(dis, truth.discharge_mAh_g, rtol=0.01)
    np.testing.assert_allclose(chg, truth.charge_mAh_g, rtol=0.01)
    assert r.coulombic_efficiency["first_pct"] == pytest.approx(88.0, abs=0.5)
    assert r.coulombic_efficiency["average_pct"] == pytest.approx(99.8, abs=0.3)
    # rate table: one row per block of C rate, in test order, 0.2C repeated at the end
    rates = [row["c_rate"] for row in r.rate_table]
    assert rates == pytest.approx([0.2, 0.5, 1, 2, 5, 10, 20, 0.2], rel=0.01)
    assert all(row["n_cycles"] == 3 for row in r.rate_table)
    for row in r.rate_table:
        sel = [k for k in range(len(truth.c_rates)) if row["first_cycle"] - 1 <= k <= row["last_cycle"] - 1]
        assert row["discharge_capacity"] == pytest.approx(truth.discharge_mAh_g[sel].mean(), rel=0.01)
    # 20C delivers less than 0.2C
    assert r.rate_table[6]["discharge_capacity"] < 0.9 * r.rate_table[0]["discharge_capacity"]
    # retention: last 0.2C cycle vs first 0.2C cycle (like for like)
    expected = truth.discharge_mAh_g[-1] / truth.discharge_mAh_g[0] * 100
    assert r.retention_pct == pytest.approx(expected, rel=0.01)
    # OCV 3.55 + 0.65 x ± η(C): mean voltage 3.875 ± η, hysteresis 2η = 2 (0.02 + 0.01 C)
    assert r.average_voltage_V["charge_first"] == pytest.approx(3.875 + 0.022, abs=0.01)
    assert r.average_voltage_V["discharge_first"] == pytest.approx(3.875 - 0.022, abs=0.01)
    hyst = np.array(r.per_cycle["hysteresis_V"])
    np.testing.assert_allclose(hyst, 2 * (0.02 + 0.01 * truth.c_rates), atol=0.01)


def test_areal_capacity_without_mass(tmp_path, rate_test):
    rec, truth = rate_test
    r = cycle(sim.write(rec, "arbin", tmp_path / "f.csv"), cell="full", area_cm2=rec.area_cm2)
    assert r.capacity["unit"] == "mAh/cm2"
    expected = truth.discharge_mAh_g[0] * rec.mass_mg / 1000 / rec.area_cm2
    assert r.capacity["first_discharge"] == pytest.approx(expected, rel=0.01)
    # no mass: 1C from the first discharge capacity over 1 h
    assert r.one_c_mA == pytest.approx(truth.discharge_mAh_g[0] * rec.mass_mg / 1000, rel=0.01)


def test_capacity_fade_long_cycling(tmp_path):
    rec, truth = sim.full_cell(c_rates=(1.0,) * 200, fade_per_cycle=0.001, points_per_half=20)
    r = cycle(sim.write(rec, "neware", tmp_path / "long.csv"), cell="full", mass_mg=rec.mass_mg)
    assert r.cycles == 200
    assert r.retention_pct == pytest.approx(truth.discharge_mAh_g[-1] / truth.discharge_mAh_g[0] * 100, rel=0.005)
    assert len(r.rate_table) == 1 and r.rate_table[0]["c_rate"] == pytest.approx(1.0, rel=0.01)
