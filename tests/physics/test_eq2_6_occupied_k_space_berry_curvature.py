"""Omega_{k_x k_y} of the occupied states (the curvature of the anomalous velocity, eq. 2.6) and its
integral, the first Chern number C1 = (1/2 pi) int d^2k Omega_xy.

qwz: C1 in every phase by link variables (FHS, no derivatives of H) and by sum over states (no
eigenvector overlaps), which must agree on the integers below; NaN at a gap closing.  The bands
stage's stored Omega_kk(k) integrates to the FHS Chern number (qwz) and to the massive-Dirac closed
form (ti_surface, eq. 2.30).
"""

import numpy as np
import pytest

from magcore import geometry, topology
from magcore.bands import eigensystem
from magcore.models import get_model

from physics_helpers import M0

# lower-band Chern number of qwz by phase (this sign convention)
QWZ_PHASES = [(-3.0, 0), (-1.5, 1), (-0.5, 1), (0.5, -1), (1.5, -1), (3.0, 0)]


@pytest.mark.parametrize("u, chern", QWZ_PHASES)
def test_qwz_chern_number_links_and_sum_over_states(u, chern):
    model = get_model("qwz", u=u)
    c_link = topology.first_chern_number(model, M0, n_k=24, bands=[0])
    assert abs(c_link - round(c_link)) < 1e-9  # the FHS sum is an integer on any fine-enough grid
    assert round(c_link) == chern
    c_sos = topology.chern_number_sum_over_states(model, M0, n_k=48, bands=[0])
    assert abs(c_sos - chern) < 1e-3
    # the two bands carry opposite Chern numbers
    assert round(topology.first_chern_number(model, M0, n_k=24, bands=[1])) == -chern


def test_qwz_exchange_shifts_the_mass():
    # J m_z s_z adds J m_z to u: u = 1, J m_z = -2 gives the u = -1 phase
    model = get_model("qwz", u=1.0, J=2.0)
    assert round(topology.first_chern_number(model, [0, 0, -1.0], n_k=24)) == 1
    assert round(topology.first_chern_number(model, [0, 0, 1.0], n_k=24)) == 0


def test_chern_number_at_a_gap_closing_is_nan():
    model = get_model("qwz", u=0.0)  # the gap closes at X = (pi, 0), on the n_k = 8 link grid
    assert np.isnan(topology.first_chern_number(model, M0, n_k=8))
    k = np.array([[np.pi, 0.0], [0.3, 0.2]])
    E, U = eigensystem(model, k, M0)
    A = geometry.matrix_elements(U, model.dh_dk(k, M0))
    F, bad = geometry.non_abelian_curvature(E, A, [0])
    assert bad.tolist() == [True, False]
    assert np.isnan(F[0]).all() and np.isfinite(F[1]).all()
    conn, mask = geometry.interband_connection(E, A)
    assert mask[0, 0, 1] and not mask[1].any()
    assert not np.isinf(conn).any() and np.isnan(conn[0, :, 0, 1]).all()


# ---- the bands stage's occupied Omega_kk(k) ----------------------------------------------------------------


def test_bands_store_berry_curvature_in_k_integrates_to_the_chern_number(tmp_path):
    """The bands stage's occupied Omega_{k_x k_y}(k) on the mesh (eq. 2.6, Kubo form) integrates
    to the Chern number that the FHS link method gives independently, at every reference
    direction, and is antisymmetric in (k_i, k_j)."""
    import warnings as _warnings

    from magcore.config import validate
    from magcore.stages import run_bands
    from magcore.study import model_from_config
    from magcore.topology import first_chern_number

    cfg = validate({"study": "chern", "results_dir": str(tmp_path),
                    "model": {"name": "qwz", "parameters": {"u": -1.4, "J": 0.9}}, "electrons": {"filling": 1},
                    "mesh": {"n_k": 64}, "sphere": {"n_theta": 3, "n_phi": 2},
                    "bands": {"reference_directions_deg": [[0, 0], [180, 0]]}})
    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore")
        ds = run_bands(cfg, tmp_path / "bands.zarr")
    model = model_from_config(cfg)
    omega = ds.berry_curvature_k.values  # (direction, k_point, k_dim, k_dim2)
    np.testing.assert_allclose(omega, -np.swapaxes(omega, -1, -2), atol=1e-12)
    chern = 2 * np.pi * np.einsum("k,rk->r", ds.mesh_weight.values, omega[..., 0, 1])
    theta = ds.direction_theta.values
    for r, t in enumerate(theta):
        m = np.array([np.sin(t), 0.0, np.cos(t)]) * cfg["magnetization"]["magnitude"]
        reference = first_chern_number(model, m, n_k=64, bands=[0])
        assert abs(chern[r] - reference) < 1e-5, (t, chern[r], reference)  # quadrature error ~1e-7 at n_k = 64
    assert {round(c) for c in chern} == {0, 1}  # m_z = +1 topological, m_z = -1 trivial: not vacuous
    assert ds.berry_curvature_k.attrs["equation"] == "2.6"


def test_bands_store_berry_curvature_in_k_of_a_massive_dirac_cone(tmp_path):
    """TI surface (eq. 2.30) with mass J m_z: the occupied Omega_{k_x k_y} integrated over the
    cutoff disc is (sign m_z / 2) (1 - |J m_z| / sqrt(J^2 m_z^2 + v^2 k_c^2)), odd in m_z."""
    import warnings as _warnings

    from magcore.config import validate
    from magcore.stages import run_bands

    J, v, k_c = 0.7, 1.3, 50.0
    cfg = validate({"study": "cone", "results_dir": str(tmp_path),
                    "model": {"name": "ti_surface", "parameters": {"J": J, "v": v}},
                    "mesh": {"k_cutoff": k_c, "radial_panels": 24, "radial_order": 12},
                    "sphere": {"n_theta": 3, "n_phi": 2},
                    "bands": {"reference_directions_deg": [[0, 0], [180, 0], [60, 0]]}})
    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore")
        ds = run_bands(cfg, tmp_path / "bands.zarr")
    total = 2 * np.pi * np.einsum("k,rk->r", ds.mesh_weight.values, ds.berry_curvature_k.values[..., 0, 1])
    mz = np.cos(ds.direction_theta.values)
    expected = 0.5 * np.sign(mz) * (1 - np.abs(J * mz) / np.sqrt((J * mz) ** 2 + (v * k_c) ** 2))
    np.testing.assert_allclose(total, expected, rtol=1e-6)
