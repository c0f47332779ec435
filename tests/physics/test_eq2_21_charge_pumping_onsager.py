"""Charge pumping (eq. 2.21) and its Onsager reciprocity with the field-induced field (eq. 2.17): the
intrinsic pumping tensor equals the intrinsic H^E, and the extrinsic pumping tensor is minus the
extrinsic H^E tensor.

The intrinsic field-induced field H^E_l = e E_i int f0 Omega_{k_i m_l} (sum over states, in
magcore.sphere) and the intrinsic pumped current j_i = e int f0 Omega_{k_i m_l} m_dot_l are the same
tensor read two ways.  The pumping side is computed here independently: the (k_i, m_l) Berry
curvature of each band from the Berry phase of a small plaquette of eigenvectors in the mixed
(k, m) space (a link method: no energy denominators, no derivative operators).
"""


import numpy as np
import pytest

from magcore.bands import eigensystem
from magcore.kmesh import bz_mesh
from magcore.models import get_model
from magcore.occupation import fermi_dirac
from magcore.quantities import from_kernel_sums
from magcore.sphere import Electrons, sphere_partial_sums

from physics_helpers import metal, ti_map


def plaquette_curvature(model, k, m, i, l, delta):
    """Omega^n_{k_i m_l} at (k, m) from the Berry phase around the square of side ``delta``
    centred there, oriented +k_i then +m_l: Omega = -Im log prod <u|u'> / delta^2."""
    dk = np.zeros(model.dim)
    dk[i] = delta / 2
    dm = np.zeros(3)
    dm[l] = delta / 2
    corners = [(-dk, -dm), (dk, -dm), (dk, dm), (-dk, dm)]
    U = [eigensystem(model, k + a, m + b)[1] for a, b in corners]
    prod = np.ones(U[0].shape[:-2] + (model.n_bands,), dtype=complex)
    for c in range(4):
        prod *= np.einsum("...an,...an->...n", U[c].conj(), U[(c + 1) % 4])
    return -np.angle(prod) / delta**2


@pytest.mark.parametrize("chemical_potential", [2.2, 2.5])
def test_intrinsic_pumping_equals_intrinsic_field_induced_field(chemical_potential):
    model = get_model("tmd", material="WTe2", J=0.3)
    mesh = bz_mesh(model.reciprocal_vectors(), 36)
    theta, phi = 1.0, 0.4
    m = np.array([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)])
    electrons = Electrons(chemical_potential=chemical_potential, temperature=0.05)
    # H^E side: sum over states (magcore)
    sums = sphere_partial_sums(model, m[None], mesh.points, mesh.weights, electrons)
    hE = from_kernel_sums(sums, model)["charge_pumping_intrinsic"][0]  # (k_i, m_l)
    # pumping side: plaquette Berry phases in (k_i, m_l), weighted by f0 of the centre energies
    E, _ = eigensystem(model, mesh.points, m)
    f = fermi_dirac(E, electrons.chemical_potential, electrons.temperature)
    errors = []
    for delta in (4e-4, 2e-4):
        pump = np.zeros((2, 3))
        for i in range(2):
            for l in range(3):
                omega = plaquette_curvature(model, mesh.points, m, i, l, delta=delta)
                pump[i, l] = np.sum(mesh.weights[:, None] * f * omega)
        errors.append(np.max(np.abs(pump - hE)) / np.max(np.abs(hE)))
    assert np.max(np.abs(hE)) > 1e-4  # a metal: the tensor is not zero by symmetry here
    # the plaquette is accurate to O(delta^2): halving delta divides the difference by ~4
    assert errors[1] < 1e-4 and errors[0] / errors[1] > 3.0, errors


def test_intrinsic_field_vanishes_for_insulating_fillings():
    # H0 conserves s_z, so orbital C3 survives any m: the polarization of a filled band is pinned
    # and dP/dm = int Omega_km = 0 (consistent with the first-Chern-form claim of section 3.5)
    model = get_model("tmd", material="WTe2", J=0.3)
    m = np.array([0.5, 0.3, np.sqrt(1 - 0.34)])
    values = []
    for n_k in (24, 36, 48):
        mesh = bz_mesh(model.reciprocal_vectors(), n_k)
        out = sphere_partial_sums(model, m[None], mesh.points, mesh.weights, Electrons(chemical_potential=0.7))
        values.append(np.max(np.abs(from_kernel_sums(out, model)["charge_pumping_intrinsic"])))
    # zero up to the discretisation of a mesh that is not C3 symmetric, which decays fast
    assert values[0] > values[1] > values[2] and values[2] < 1e-8, values


# ---- extrinsic part ----------------------------------------------------------------------------------------


def test_extrinsic_pumping_is_minus_extrinsic_field_tensor():
    # eq. 2.21 vs 2.17: j_e = +tau int v dE/dm f', H^E_e = -tau int v dE/dm f'
    ds = ti_map(n_theta=9, n_phi=6, kc=60.0, electrons=metal())
    pump = ds.charge_pumping_extrinsic.values  # (.., field i, component l)
    hE = ds.field_induced_field_extrinsic.values  # (.., component l, field i)
    np.testing.assert_allclose(pump, -hE.swapaxes(-1, -2), atol=1e-14)
