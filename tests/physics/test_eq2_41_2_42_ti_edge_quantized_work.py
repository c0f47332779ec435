"""2D-TI edge: the field-induced field H^E (eq. 2.41) and the quantized work e E C around closed paths
(eqs. 2.25, 2.42), from the band sums and along LLG limit cycles."""

import numpy as np
import pytest

from magcore.kmesh import segment_mesh
from magcore.llg import LIMIT_CYCLE, LLG, FaradayField, UniaxialAnisotropy, Zeeman, sweep
from magcore.models import get_model
from magcore.pumping import intrinsic_field_induced_field, loop_derivative, work_integral
from magcore.sphere import Electrons

J, V, E = 0.7, 1.0, 0.37  # alpha = J|m|a/(hbar v) = 0.7, e E = 0.37 (model units)
MODEL = get_model("ti_edge", J=J, v=V)
MESH = segment_mesh(400.0, 20, 8, 0.4)


def m_y_polar(theta, phi):
    """The dissertation's frame for the edge: polar axis y, phi from z towards x."""
    return np.stack([np.sin(theta) * np.sin(phi), np.cos(theta), np.sin(theta) * np.cos(phi)], axis=-1)


def test_field_induced_field_eq_2_41():
    rng = np.random.default_rng(1)
    theta = rng.uniform(0.3, np.pi - 0.3, 12)
    phi = rng.uniform(0, 2 * np.pi, 12)
    m = m_y_polar(theta, phi)
    hE = intrinsic_field_induced_field(MODEL, m, MESH, Electrons())[..., 0] * E
    e_phi = np.stack([np.cos(phi), np.zeros_like(phi), -np.sin(phi)], axis=-1)
    expected = E / (2 * np.pi) * (-e_phi / np.sin(theta)[:, None])
    # tangential part is eq. 2.41 (the dissertation projects on the sphere)
    h_tan = hE - np.einsum("ni,ni->n", hE, m)[:, None] * m
    np.testing.assert_allclose(h_tan, expected, rtol=2e-3, atol=1e-6)


def loop(C, shape, n=96):
    t = np.arange(n) / n
    if shape == "circle":
        theta, phi = np.full(n, 1.1), -2 * np.pi * C * t
    elif shape == "wobbly":  # non-uniform speed and latitude: only the topology should matter
        theta = 1.3 + 0.6 * np.sin(2 * np.pi * 3 * t) + 0.2 * np.cos(2 * np.pi * t)
        phi = -2 * np.pi * C * t + 0.8 * np.sin(2 * np.pi * 2 * t)
    elif shape == "off_axis":  # a loop on one side of the y axis (encircles it only if C != 0)
        theta = 1.2 + 0.5 * np.cos(2 * np.pi * t)
        phi = 0.9 + 0.6 * np.sin(2 * np.pi * t) - 2 * np.pi * C * t
    return m_y_polar(theta, phi)


@pytest.mark.parametrize("shape", ["circle", "wobbly", "off_axis"])
@pytest.mark.parametrize("C", [1, 2, -1, 0])
def test_work_around_closed_path_is_eEC(C, shape):
    m = loop(C, shape)
    W = work_integral(MODEL, m, [E], MESH, Electrons())
    # quantized to e E C (eq. 2.42), up to the finite cutoff (relative alpha^2 / (2 k_c^2))
    assert W == pytest.approx(E * C, abs=2e-4 * E)


def test_work_quantization_improves_with_cutoff():
    m = loop(1, "wobbly")
    errors = [abs(work_integral(MODEL, m, [E], segment_mesh(kc, 20, 8, 0.4), Electrons()) - E)
              for kc in (2.0, 4.0, 8.0)]
    assert errors[0] > errors[1] > errors[2], errors


def test_path_through_gap_closing_is_refused():
    t = np.arange(32) / 32
    m = m_y_polar(np.pi * (0.5 + 0.5 * np.cos(2 * np.pi * t)), np.full(32, 0.3))  # passes m = +y
    mesh = segment_mesh(10.0, 4, 4, 0.4)
    from magcore.kmesh import KMesh

    mesh = KMesh(np.vstack([[[0.0]], mesh.points]), np.concatenate([[1e-3], mesh.weights]))
    with pytest.raises(ValueError, match="gap closing"):
        work_integral(MODEL, m, [E], mesh, Electrons())


def test_loop_derivative_is_spectral():
    t = np.arange(64) / 64
    m = np.stack([np.cos(2 * np.pi * t), np.sin(2 * np.pi * 3 * t), np.ones_like(t)], axis=-1)
    dm = loop_derivative(m)
    np.testing.assert_allclose(dm[:, 0], -2 * np.pi * np.sin(2 * np.pi * t), atol=1e-12)
    np.testing.assert_allclose(dm[:, 1], 6 * np.pi * np.cos(2 * np.pi * 3 * t), atol=1e-11)


# ---- along LLG limit cycles ----------------------------------------------------------------------------------


def test_quantized_work_per_turn_with_the_eq_2_41_field():
    # with H^E = -(B/m) e_phi / sin t (eq. 2.41) the work per turn about y is 2 pi |B| = eE
    # whatever the orbit (eq. 2.42); with the printed eq. 2.45 it is 2 pi |B| <sin t> < 2 pi |B|.
    # Both forms in one batch: Faraday terms of each form with B switched on per trajectory.
    def model(p):
        B41, B45 = -0.1 * (p["form"] == 41), -0.1 * (p["form"] == 45)
        return LLG([UniaxialAnisotropy(1.0, [1, 0, 0]), UniaxialAnisotropy(-1.0, [0, 1, 0]), Zeeman([0, 1.0, 0]),
                    FaradayField(B41, [0, 1, 0], "2.41"), FaradayField(B45, [0, 1, 0], "2.45")],
                   gamma=1.0, damping=2 * 0.027)
    ds = sweep(model, {"form": [41, 45]}, initial={"theta": 0.4 * np.pi, "phi": 0.0, "polar_axis": "y"},
               t_end=300.0, n_tail=2048, tail_fraction=0.4, rtol=1e-7, atol=1e-9)
    assert np.all(ds.final_class.values == LIMIT_CYCLE)
    w41, w45 = ds.work_input_per_period.values
    np.testing.assert_allclose(w41, 2 * np.pi * 0.1, rtol=1e-4)
    assert w45 < 0.99 * 2 * np.pi * 0.1
    np.testing.assert_allclose(ds.work_input_per_period, ds.dissipation_per_period, rtol=1e-3)
