"""Anomalous Hall conductivity of the sphere maps, sigma_ij = (e^2/hbar) int [dk] f0 Omega_{k_i k_j}
(Omega_kk of eq. 2.6; the Hall conductivity defined after eq. 3.13), stored in e^2/h for 2D models.

* Chern insulators: sigma_xy = C e^2/h with C from an independent method (the FHS link Chern
  number of :func:`magcore.topology.first_chern_number`): the Haldane model as a user hopping
  list, and the QWZ model through its topological transitions in m_z;
* the massive Dirac cone of the TI surface (eq. 2.30) on its cutoff disc: the closed form
  sigma_xy = (sgn(m_z) / 2) (1 - |J m_z| / sqrt((J m_z)^2 + (v k_c)^2)) e^2/h, odd in m
  (Onsager: sigma_ij(m) = sigma_ji(-m));
* antisymmetry, NaN exactly at the flagged gap closings, and the units (e^2/h, S/cm).
"""

import math
import warnings

import numpy as np
import pytest
import scipy.constants

from magcore.electrons import Electrons
from magcore.kmesh import bz_mesh, disc_mesh
from magcore.models import get_model
from magcore.models.tight_binding import TightBindingModel
from magcore.quantities import BY_NAME, E2_OVER_H_SIEMENS, units_of
from magcore.sphere import FLAG_GAP_CLOSED, FLAG_NEAR_DEGENERATE, sphere_map
from magcore.topology import first_chern_number

SQRT3 = math.sqrt(3.0)


def _sigma_xy(model, mesh, mu, n_theta=5, n_phi=4, **kw):
    theta = np.linspace(0.0, np.pi, n_theta)
    phi = 2 * np.pi * np.arange(n_phi) / n_phi
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = sphere_map(model, theta, phi, mesh, Electrons(chemical_potential=mu), **kw)
    return ds


def _haldane(M, t2, phi, positions):
    c = t2 * np.exp(1j * phi)
    hops = [(1.0, 0, 1, [0, 0]), (1.0, 1, 0, [1, 0]), (1.0, 1, 0, [0, 1]),
            (c, 0, 0, [1, 0]), (c, 1, 1, [1, -1]), (c, 1, 1, [0, 1]),
            (np.conj(c), 1, 1, [1, 0]), (np.conj(c), 0, 0, [1, -1]), (np.conj(c), 0, 0, [0, 1])]
    return TightBindingModel(lattice_vectors=[[1.0, 0.0], [0.5, SQRT3 / 2]], positions=positions,
                             onsite=[M, -M], hoppings=hops)


@pytest.mark.parametrize("M, phase", [(0.3, np.pi / 2), (-0.3, -np.pi / 3), (2.0, np.pi / 2)])
def test_haldane_hall_conductivity_is_the_chern_number(M, phase):
    model = _haldane(M, 0.3, phase, [[1 / 3, 1 / 3], [2 / 3, 2 / 3]])
    mesh = bz_mesh(model.reciprocal_vectors(), 60)
    E = np.linalg.eigvalsh(model.hamiltonian(mesh.points, np.zeros(3)))
    mu = 0.5 * (E[:, 0].max() + E[:, 1].min())
    ds = _sigma_xy(model, mesh, mu, n_theta=3, n_phi=2)
    sigma = ds.anomalous_hall_conductivity.sel(field="x", field2="y").values
    C = first_chern_number(_haldane(M, 0.3, phase, None), np.zeros(3), n_k=24, bands=[0])
    assert abs(C - round(C)) < 1e-9
    np.testing.assert_allclose(sigma, C, atol=1e-6)
    assert ds.anomalous_hall_conductivity.attrs["units"] == "e**2 * planck_constant**-1"  # e^2/h, as pint reads it


def test_qwz_hall_conductivity_follows_the_chern_number_of_each_magnetization():
    # u + J m_z crosses 0 and -2 on the sphere: C(m) takes several values; at the crossings the
    # gap closes and sigma is NaN with a flag
    model = get_model("qwz", u=-1.0, J=1.6)
    mesh = bz_mesh(model.reciprocal_vectors(), 72)
    ds = _sigma_xy(model, mesh, 0.0, n_theta=9, n_phi=4)
    sigma = ds.anomalous_hall_conductivity.sel(field="x", field2="y").values
    m = ds.magnetization.values
    flag = ds.flag.values
    seen = set()
    for i, j in np.ndindex(sigma.shape):
        C = first_chern_number(model, m[i, j], n_k=36)
        if flag[i, j] & (FLAG_GAP_CLOSED | FLAG_NEAR_DEGENERATE) or math.isnan(C):
            assert np.isnan(sigma[i, j])
            continue
        assert abs(sigma[i, j] - C) < 1e-3, (i, j, sigma[i, j], C)  # mesh-converged near small gaps
        seen.add(round(C))
    assert len(seen) >= 2, seen


def test_massive_dirac_cone_closed_form_and_onsager_reciprocity():
    J, v, k_c = 0.7, 1.3, 50.0
    model = get_model("ti_surface", J=J, v=v)
    mesh = disc_mesh(k_c, 24, 12, 0.4, 8)
    ds = _sigma_xy(model, mesh, 0.0, n_theta=7, n_phi=4)
    sigma = ds.anomalous_hall_conductivity.values  # (theta, phi, i, j)
    mz = ds.magnetization.sel(component="z").values
    expected = 0.5 * np.sign(mz) * (1 - np.abs(J * mz) / np.sqrt((J * mz) ** 2 + (v * k_c) ** 2))
    gapped = np.abs(mz) > 1e-9
    np.testing.assert_allclose(sigma[..., 0, 1][gapped], expected[gapped], rtol=1e-6)
    assert np.isnan(sigma[~gapped]).all() and (ds.flag.values[~gapped] & (FLAG_GAP_CLOSED | FLAG_NEAR_DEGENERATE)).all()
    # antisymmetric, zero diagonal; Onsager sigma_ij(m) = sigma_ji(-m) with -m at (pi - theta, phi + pi)
    g = sigma[gapped]
    np.testing.assert_array_equal(g, -np.swapaxes(g, -1, -2))
    anti = np.roll(sigma[::-1], -sigma.shape[1] // 2, axis=1)
    np.testing.assert_allclose(sigma[gapped], np.swapaxes(anti, -1, -2)[gapped], rtol=1e-9)


def test_units_of_the_hall_conductivity():
    assert E2_OVER_H_SIEMENS == pytest.approx(scipy.constants.e**2 / scipy.constants.h, rel=1e-15)
    assert BY_NAME["anomalous_hall_conductivity"].attrs(units_of(get_model("tmd")))["units"] == \
        "e**2 * planck_constant**-1"  # e^2/h in the stores' spelling (magcore.units.canonical)
    cubic = TightBindingModel(lattice_vectors=np.eye(3) * 3.0, positions=[[0, 0, 0]], onsite=[0.0],
                              hoppings=[(1.0, 0, 0, [1, 0, 0])])
    assert units_of(cubic)["conductivity"] == "S/cm"
    block = BY_NAME["anomalous_hall_conductivity"].block
    # 1 e^2/h per Angstrom of stacking is 3874 S/cm
    assert block.scale(cubic) / (2 * np.pi) == pytest.approx(E2_OVER_H_SIEMENS * 1e8)
    assert units_of(get_model("dirac4d"))["conductivity"] == "e^2/h a^-2"
