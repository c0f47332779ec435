"""Fermi scans (magcore.fermi_scan): every chapter-2 k-sum at many chemical potentials from one
eigensystem per (k, m), checked against single-mu runs of the same sums (eqs. 2.6-2.19)."""

from math import factorial

import numpy as np
import pytest
from numpy.polynomial import polynomial as P
from scipy.special import expit

from magcore.electrons import Electrons
from magcore.fermi_scan import FermiScan, fermi_scan_sums, truncation_bounds
from magcore.kernels import chapter2_sums
from magcore.linalg import eigh
from magcore.models import get_model

SCALAR_SUMS = ("sea_curvature", "surface_velocities", "free_energy", "hellmann_feynman", "density_of_states",
               "berry_curvature_mm_E", "damping_E")


@pytest.fixture(scope="module")
def tmd_block():
    model = get_model("tmd")
    rng = np.random.default_rng(7)
    K = 300
    q = rng.uniform(-3.0, 3.0, size=(K, 2))
    w = rng.uniform(0.5, 1.5, size=K) / K
    m = rng.normal(size=(3, 3))
    m /= np.linalg.norm(m, axis=1)[:, None]
    # the energies of m[0] as the scan's eigensolver gives them (H(k; 0) + m . M, same additions)
    H = model.hamiltonian(q, np.zeros(3)) + np.einsum("i,iab->ab", m[0], model.exchange_coupling())
    E, _ = eigh(np.ascontiguousarray(H))
    return model, m, q, w, E


def _single(model, m, q, w, mu, **electrons):
    return chapter2_sums(model, m, q, w, Electrons(chemical_potential=float(mu), **electrons))


def _compare(scan, model, m, q, w, mus, **electrons):
    """max |scan - single| / scale per sum, and whether n_degenerate agrees, over every mu."""
    worst = {}
    for j, mu in enumerate(mus):
        ref = _single(model, m, q, w, mu, **electrons)
        assert np.array_equal(scan["n_degenerate"][:, j], ref["n_degenerate"]), f"n_degenerate at mu = {mu}"
        for key in SCALAR_SUMS:
            scale = max(np.max(np.abs(scan[key])), 1e-300)
            worst[key] = max(worst.get(key, 0.0), np.max(np.abs(scan[key][:, j] - ref[key])) / scale)
    return worst


def test_zero_temperature_scan_equals_single_mu_runs(tmd_block):
    """T = 0: each mu of the scan (across the gap and into the bands, one mu exactly at a band
    energy, where f0 = 1/2) equals a single-mu run to 1e-12 of the sum's scale."""
    model, m, q, w, E = tmd_block
    mus = np.sort(np.concatenate([np.linspace(E[:, 0].min() - 0.1, E[:, 3].max() + 0.1, 23), [E[5, 2]]]))
    scan = fermi_scan_sums(model, m, q, w, Electrons(), mus)
    worst = _compare(scan, model, m, q, w, mus)
    assert max(worst.values()) < 1e-12, worst
    assert np.max(np.abs(scan["sea_curvature"])) > 0 and np.max(np.abs(scan["hellmann_feynman"])) > 0
    assert all(np.all(scan[f"{key}_error_bound"] == 0) for key in SCALAR_SUMS)  # exact, no Taylor terms
    # the tie is seen: mu one ulp above the band energy gives a different value
    j = int(np.flatnonzero(mus == E[5, 2])[0])
    above = fermi_scan_sums(model, m[:1], q, w, Electrons(), np.nextafter(mus, np.inf))
    assert np.any(above["hellmann_feynman"][0, j] != scan["hellmann_feynman"][0, j])


@pytest.mark.parametrize("electrons", [{"temperature": 0.05}, {"smearing": 0.04}, {"temperature": 0.03,
                                                                                  "smearing": 0.06}])
@pytest.mark.parametrize("uniform", [True, False])
def test_finite_temperature_scan_is_within_its_stated_bound(tmd_block, electrons, uniform):
    """T > 0 or smearing: the Taylor evaluation (FFT on equally spaced mu, a dense matrix
    otherwise) agrees with single-mu runs within the stored bound and to 1e-8 of the scale."""
    model, m, q, w, E = tmd_block
    mus = np.linspace(E[:, 1].max() - 0.2, E[:, 2].min() + 0.4, 9)
    if not uniform:
        mus = mus + np.array([0, 0.013, -0.02, 0.005, 0, 0.031, -0.004, 0.0, 0.01])
    scan = fermi_scan_sums(model, m, q, w, Electrons(**electrons), mus)
    for j, mu in enumerate(mus):
        ref = _single(model, m, q, w, mu, **electrons)
        for key in SCALAR_SUMS:
            err = np.abs(scan[key][:, j] - ref[key])
            assert np.all(err <= scan[f"{key}_error_bound"] + 1e-13 * np.max(np.abs(ref[key]))), (key, mu)
    worst = _compare(scan, model, m, q, w, mus, **electrons)
    assert max(worst.values()) < 1e-8, worst
    assert np.max(np.abs(scan["damping_E"])) > 0  # the Fermi-surface sums are exercised


def test_near_degenerate_points_are_counted_per_mu(tmd_block):
    """With a degeneracy tolerance that catches real pairs, the scan leaves out and counts the
    same pairs at every mu as single-mu runs (n_degenerate equal, sums equal)."""
    model, m, q, w, E = tmd_block
    gaps = np.diff(E, axis=1)
    tol = float(np.quantile(gaps[gaps > 0], 0.05))
    mus = np.linspace(E.min(), E.max(), 15)
    for electrons in ({"degeneracy_tol": tol}, {"degeneracy_tol": tol, "temperature": 0.05}):
        scan = fermi_scan_sums(model, m, q, w, Electrons(**electrons), mus)
        assert scan["n_degenerate"].max() > 0
        worst = _compare(scan, model, m, q, w, mus, **electrons)
        assert max(worst.values()) < 1e-8, worst


def test_blocks_accumulate_and_memory_does_not_grow_with_the_mesh(tmd_block):
    """Two mesh blocks added one after the other give the sums of the whole mesh; the deposits
    are sized by magnetizations and mu, not by k-points."""
    model, m, q, w, E = tmd_block
    mus = np.linspace(E[:, 1].max(), E[:, 2].min(), 5)
    el = Electrons(temperature=0.05)
    fs = FermiScan(model, m, el, mus)
    size = fs.nbytes()
    fs.add(q[:170], w[:170]).add(q[170:], w[170:])
    assert fs.nbytes() == size
    both, whole = fs.result(), fermi_scan_sums(model, m, q, w, el, mus)
    for key in SCALAR_SUMS:
        np.testing.assert_allclose(both[key], whole[key], rtol=0, atol=1e-12 * np.max(np.abs(whole[key])))


def test_taylor_remainder_bound_holds_for_the_fermi_function():
    """The stated remainder bound of an order-r expansion in a bin of width h = t T holds for
    f0, g and -df0/de at random points (independent of the scan code: closed-form f0)."""
    rng = np.random.default_rng(3)
    T = 1.0
    for order, t in ((4, 0.5), (6, 1.0), (8, 0.5)):
        b = truncation_bounds(order, t)
        # derivatives of f0 from the polynomial recursion, checked here against finite differences
        polys = [np.array([0.0, 1.0])]
        for _ in range(order + 2):
            polys.append(P.polymul(P.polyder(polys[-1]), [0.0, -1.0, 1.0]))
        x0 = rng.uniform(-10, 10, 200)
        for e0 in x0:
            d = rng.uniform(-t / 2, t / 2)
            taylor = sum(P.polyval(expit(-e0), polys[r]) * d**r / factorial(r) for r in range(order + 1))
            assert abs(expit(-(e0 + d)) - taylor) <= b["f"] * (1 + 1e-9) + 1e-15
        h = 1e-4
        fd = (expit(-(1.0 + h)) - expit(-(1.0 - h))) / (2 * h)
        assert abs(fd - P.polyval(expit(-1.0), polys[1])) < 1e-7


def test_bad_input_is_one_clear_error(tmd_block):
    model, m, q, w, E = tmd_block
    with pytest.raises(ValueError, match="strictly increasing"):
        FermiScan(model, m, Electrons(), [0.2, 0.1])
    with pytest.raises(ValueError, match="strictly increasing"):
        FermiScan(model, m, Electrons(), [0.1, np.nan])
    class NoCoupling:  # a model neither two-band nor with an exchange coupling
        name, dim = "stub", 2

        def k_center(self, m):
            return np.zeros((len(m), 2))

        def exchange_coupling(self):
            return None

    with pytest.raises(NotImplementedError, match="exchange coupling"):
        FermiScan(NoCoupling(), m, Electrons(), [0.0, 0.1])


def test_the_sums_declared_proportional_to_tau_are(tmd_block):
    """KernelSum.tau (the sweep's one pass scales these by each state's relaxation time) against
    chapter2_sums at two relaxation times: proportional where declared, unchanged elsewhere."""
    from magcore.quantities import KERNEL_SUMS

    model, m, q, w, E = tmd_block
    mu = float(E[:, 2].min() + 0.05)
    a = _single(model, m, q, w, mu, smearing=0.05, relaxation_time=1.0)
    b = _single(model, m, q, w, mu, smearing=0.05, relaxation_time=2.5)
    for s in KERNEL_SUMS:
        expect = 2.5 * a[s.name] if s.tau else a[s.name]
        np.testing.assert_allclose(b[s.name], expect, rtol=1e-13, atol=1e-15 * np.max(np.abs(a[s.name])),
                                   err_msg=s.name)
        if s.tau:
            assert np.max(np.abs(a[s.name])) > 0, s.name


@pytest.mark.parametrize("name, params, electrons", [
    ("qwz", {"u": -1.0, "J": 0.3}, {}),
    ("qwz", {"u": -1.0, "J": 0.3}, {"temperature": 0.05}),
    ("ti_surface", {"J": 0.5}, {"smearing": 0.05}),
    ("rashba_fm", {}, {})])
def test_two_band_scan_equals_single_mu_runs(name, params, electrons):
    """Two-band models (closed form from the d-vector; ti_surface with its m-dependent mesh
    centre) scan to 1e-12 of the scale at T = 0 and within 1e-8 at T > 0 / smearing."""
    model = get_model(name, **params)
    rng = np.random.default_rng(5)
    K = 400
    q = rng.uniform(-2.0, 2.0, size=(K, model.dim))
    w = rng.uniform(0.5, 1.5, size=K) / K
    m = rng.normal(size=(3, 3))
    m /= np.linalg.norm(m, axis=1)[:, None]
    mus = np.linspace(-1.5, 1.5, 11)
    scan = fermi_scan_sums(model, m, q, w, Electrons(**electrons), mus)
    worst = _compare(scan, model, m, q, w, mus, **electrons)
    assert max(worst.values()) < (1e-12 if not electrons else 1e-8), worst
    assert np.max(np.abs(scan["sea_curvature"])) > 0


@pytest.mark.parametrize("uniform", [True, False])
def test_several_temperatures_from_one_pass(tmd_block, uniform):
    """One set of deposits serves states at T = 0, T > 0 and with smearing (bins for the lowest
    temperature, wide enough for the highest): each state equals its single-mu runs (1e-12 at
    T = 0, 1e-8 otherwise), n_degenerate per state and mu included."""
    model, m, q, w, E = tmd_block
    gaps = np.diff(E, axis=1)
    tol = float(np.quantile(gaps[gaps > 0], 0.03))
    states = [{"degeneracy_tol": tol}, {"degeneracy_tol": tol, "temperature": 0.05},
              {"degeneracy_tol": tol, "smearing": 0.02}, {"degeneracy_tol": tol, "temperature": 0.01, "smearing": 0.1}]
    mus = np.linspace(E[:, 1].max() - 0.2, E[:, 2].min() + 0.4, 7)
    if not uniform:
        mus = mus + np.array([0, 0.013, -0.02, 0.005, 0, 0.031, -0.004])
    fs = FermiScan(model, m, [Electrons(**e) for e in states], mus).add(q, w)
    for i, electrons in enumerate(states):
        worst = _compare(fs.result(i), model, m, q, w, mus, **electrons)
        assert max(worst.values()) < (1e-12 if i == 0 else 1e-8), (electrons, worst)
