"""The sweep LLG figure: fractions of the final-state classes against a sweep axis, from a
stacked llg store (a class variable stored once, equal at every point, is broadcast)."""

import json

import numpy as np
import xarray as xr

from magcore.figures_common import text_overlaps
from magcore.figures_sweep_llg import class_fractions, outcome_fractions

MEANINGS = "fixed_point limit_cycle unresolved singular_point integration_failed"


def stacked(final_class, dims):
    ds = xr.Dataset({"final_class": (dims, final_class, {"flag_values": [0, 1, 2, 3, 4],
                                                         "flag_meanings": MEANINGS})},
                    coords={"chemical_potential": ("chemical_potential", [0.0, 0.2, 0.4],
                                                   {"units": "eV", "long_name": "chemical potential"}),
                            "J": ("J", [0.1, 0.2]), "theta0": [0.4, 0.6], "phi0": [1.0, 1.2]})
    ds.attrs["sweep_dims"] = json.dumps(["J", "chemical_potential"])
    return ds


def test_fractions_count_the_classes_at_each_point():
    fc = np.zeros((2, 3, 2, 2), np.int8)  # (J, mu, theta0, phi0)
    fc[0, 1, 0, :] = 1  # half the trajectories at J = 0.1, mu = 0.2 end on a limit cycle
    fc[1, 2] = 2  # all unresolved at J = 0.2, mu = 0.4
    frac = class_fractions(stacked(fc, ("J", "chemical_potential", "theta0", "phi0")), ["J", "chemical_potential"])
    assert frac.sel(J=0.1, chemical_potential=0.2, final_class="limit_cycle") == 0.5
    assert frac.sel(J=0.1, chemical_potential=0.2, final_class="fixed_point") == 0.5
    assert frac.sel(J=0.2, chemical_potential=0.4, final_class="unresolved") == 1.0
    np.testing.assert_allclose(frac.sum("final_class"), 1.0)


def test_a_class_stored_once_is_broadcast_and_the_figure_reads():
    ds = stacked(np.array([[0, 1], [1, 1]], np.int8), ("theta0", "phi0"))  # equal at every sweep point
    frac = class_fractions(ds, ["J", "chemical_potential"])
    assert frac.sizes == {"J": 2, "chemical_potential": 3, "final_class": 5}
    np.testing.assert_allclose(frac.sel(final_class="limit_cycle"), 0.75)
    fig = outcome_fractions(ds, "chemical_potential")
    assert len(fig.axes[0].lines) == 2  # the two classes that occur
    assert "J = 0.1" in fig.axes[0].get_title() and "eV" in fig.axes[0].get_xlabel()
    assert text_overlaps(fig) == []
