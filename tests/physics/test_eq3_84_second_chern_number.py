"""Second Chern numbers (eqs. 3.84-3.85): C2 of the dirac4d validation model in every phase, by
non-Abelian link variables and by the sum-over-states second Chern form, with the convention
C2 = (1/32 pi^2) int d^4k eps^{ijkl} tr(F_ij F_kl), eps^{1234} = +1; and C2 = 0 for a full 2 pi
rotation of a domain wall in WTe2 (section 3.5).
"""

import numpy as np
import pytest

from magcore import topology, wavepacket as wp
from magcore.engine.mesh_integral import K_TILE
from magcore.kmesh import bz_mesh
from magcore.models import get_model

from physics_helpers import M0

# second Chern number of the lower two dirac4d bands by phase of m0 (Gamma matrices of validation.py)
DIRAC4D_PHASES = [(-5.0, 0), (-3.0, -1), (-1.0, 3), (1.0, -3), (3.0, 1), (5.0, 0)]


@pytest.mark.parametrize("m0, c2", DIRAC4D_PHASES)
def test_dirac4d_second_chern_number_links(m0, c2):
    model = get_model("dirac4d", m0=m0)
    coarse = topology.second_chern_number_links(model, M0, n_k=8)
    fine = topology.second_chern_number_links(model, M0, n_k=12)
    assert round(fine) == c2
    assert abs(fine - c2) < 0.1
    assert abs(fine - c2) < abs(coarse - c2)  # converging towards the integer


def test_link_schemes_converge_to_the_same_integer():
    model = get_model("dirac4d", m0=-1.0)
    errors = {
        s: [abs(topology.second_chern_number_links(model, M0, n_k=n, scheme=s) - 3) for n in (6, 8, 10)]
        for s in topology.SCHEMES
    }
    for s, err in errors.items():
        assert err[0] > err[1] > err[2], s
    assert errors["improved"][-1] < 0.5 * errors["plaquette"][-1]


@pytest.mark.parametrize("m0, c2", DIRAC4D_PHASES)
def test_dirac4d_second_chern_number_sum_over_states_converges(m0, c2):
    model = get_model("dirac4d", m0=m0)
    values = [topology.second_chern_number_sum_over_states(model, M0, n_k=n) for n in (8, 12, 16)]
    errors = np.abs(np.array(values) - c2)
    assert np.all(np.diff(errors) < 0), errors
    assert errors[-1] < 2e-3


@pytest.mark.slow
@pytest.mark.parametrize("m0, c2", [(-2.5, -1), (0.5, -3), (4.5, 0)])
def test_dirac4d_second_chern_number_near_transitions(m0, c2):
    # gap 1 (half the mid-phase gap): slower convergence, finer meshes
    model = get_model("dirac4d", m0=m0)
    assert abs(topology.second_chern_number_sum_over_states(model, M0, n_k=28) - c2) < 1e-3
    assert abs(topology.second_chern_number_links(model, M0, n_k=20) - c2) < 0.05


def test_second_chern_number_needs_a_4d_lattice_model():
    with pytest.raises(ValueError):
        topology.second_chern_number_links(get_model("qwz"), M0)
    with pytest.raises(ValueError):
        topology.first_chern_number(get_model("dirac4d"), M0)
    with pytest.raises(ValueError):
        topology.first_chern_number(get_model("ti_surface"), M0)


# ---- full rotation of a domain wall ------------------------------------------------------------------------


def test_second_chern_number_of_full_rotation_is_zero():
    model = get_model("tmd")
    mesh = bz_mesh(model.reciprocal_vectors(), 18)
    out = wp.wall_rotation_second_chern(model, mesh, 2, n_theta=8, n_phi=6)
    assert out["n_degenerate_nonabelian"] == 0
    assert abs(out["C2_nonabelian"]) < 0.05


def test_second_chern_number_of_full_rotation_does_not_depend_on_k_block():
    # 48 x 48 = 2304 mesh points: more than one summation tile (K_TILE = 2048), so blocks of
    # 1 (rounded up to a tile), 2048, 3000 (rounded up to two tiles) and 10000 points cut the mesh
    # differently; the tile sums are added in mesh order, so the result is the same bits
    model = get_model("tmd")
    mesh = bz_mesh(model.reciprocal_vectors(), 48)
    assert mesh.size > K_TILE
    outs = [wp.wall_rotation_second_chern(model, mesh, 2, n_theta=2, n_phi=2, k_block=k_block)
            for k_block in (1, K_TILE, 3000, 10000)]
    for out in outs[1:]:
        assert out == outs[0]
    with pytest.raises(ValueError):
        wp.wall_rotation_second_chern(model, mesh, 2, n_theta=2, n_phi=2, k_block=0)
