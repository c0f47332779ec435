"""The 3D-TI surface in an electric field (section 2.3): the hemisphere free energies
G_N/S = -J0 m_z^2 +/- (eE|alpha|/(4 pi m a)) m_x (eq. 2.37) from the stored H^E, and the dynamics
they imply: half of the equator becomes dynamically stable, and for eE|alpha|/(4 pi a) > 2 J0 m^2
every trajectory ends on it (from the analytic terms and from tabulated sphere maps).
"""

import numpy as np
import xarray as xr

from magcore.llg import (
    FIXED_POINT,
    LLG,
    UNRESOLVED,
    HemisphereField,
    UniaxialAnisotropy,
    build_llg,
    classify,
    from_angles,
    integrate_llg,
)
from magcore.plots import hemisphere_potential
from magcore.sphere import sphere_grid, unit_vectors

from physics_helpers import TI_MAP_J as J, fibonacci_sphere, ti_map


def test_hemisphere_free_energies_eq_2_37():
    # G_N/S = -J0 m_z^2 +/- (eE|alpha|/(4 pi m a)) m_x: the E part integrated from the stored H^E
    ds = ti_map(n_theta=37, n_phi=16)
    E = 2.0
    hE = E * ds.field_induced_field.sel(field="x").values
    GE = hemisphere_potential(hE, ds.theta.values, ds.phi.values)
    mx = ds.magnetization.sel(component="x").values
    c = E * abs(J) / (4 * np.pi)
    north = (ds.theta.values < np.pi / 2 - 0.1)[:, None] & np.ones(16, bool)
    south = (ds.theta.values > np.pi / 2 + 0.1)[:, None] & np.ones(16, bool)
    # potentials are defined up to a constant per hemisphere (fixed at the poles, m_x = 0 there)
    # (H^E itself carries the 1/k_c tail, ~0.25% at k_c = 400)
    np.testing.assert_allclose(GE[north], c * mx[north], atol=5e-3 * c)
    np.testing.assert_allclose(GE[south], -c * mx[south], atol=5e-3 * c)


# ---- LLG dynamics ------------------------------------------------------------------------------------------


J0, GAMMA_F, ALPHA_EX, ETA_TI, WIDTH = 1.0, 2.0, 1.0, 0.05, 0.02


def ti_gamma(m):
    """gamma(theta) = gamma_f / (1 + gamma_f alpha^2 |cos t| / (4 pi)) (eqs. 2.32-2.34, m = a = hbar = 1)."""
    return GAMMA_F / (1 + GAMMA_F * ALPHA_EX**2 * np.abs(m[:, 2]) / (4 * np.pi))


def ti_surface_llg(c, width=WIDTH, eta=ETA_TI):
    """G = -J0 m_z^2 (eq. 2.35) and H^E = -c sgn(m_z) x (eq. 2.36), c = eE|alpha|/(4 pi m a);
    sgn smoothed over |m_z| < width (the gap closes on the equator)."""
    terms = [UniaxialAnisotropy(J0, [0, 0, 1]), HemisphereField(c, [0, 0, 1], [1, 0, 0], width)]
    return LLG(terms, gamma=ti_gamma, damping=eta)


def on_stable_half_equator(m, tol=1e-3):
    return (np.abs(m[:, 2]) < tol) & (m[:, 1] > 0)


def test_ti_surface_half_equator_is_dynamically_stable():
    # eE|alpha|/(4 pi J0 m^2 a) = 0.4 (Fig. 2.4): starts close to the equator with phi in
    # (pi, 2 pi) follow G_N/S (eq. 2.37) and end on the half equator phi in (0, pi); damping
    # shrinks this attraction area (near phi = pi on the north side and 2 pi on the south side
    # the orbits are close to the critical ones G_N/S = -c); starts near the poles end at the
    # shifted minima m_x = -/+ c/(2 J0) of G_N / G_S
    c = 0.4 * J0
    phi = np.linspace(np.pi + 0.1, 2 * np.pi - 0.1, 9)
    starts = np.concatenate([from_angles(np.pi / 2 - 0.05, phi), from_angles(np.pi / 2 + 0.05, phi),
                             from_angles([0.2, np.pi - 0.2], [1.0, 4.0])])
    etas = np.array([0.002, 0.01, 0.05])
    n = len(starts)
    llg = ti_surface_llg(c, eta=np.repeat(etas, n))  # one batch, damping per trajectory
    T = 150.0
    tail = np.linspace(0.8 * T, T, 256)
    res = integrate_llg(llg, np.tile(starts, (3, 1)), T, record=[(tail, None)], rtol=1e-8, atol=1e-10)
    final = res.m.reshape(3, n, 3)
    out = classify(tail, res.recordings[0].m, res.recordings[0].aux, res.status,
                   energy_balance=llg.energy_balance_holds)
    captured = np.array([on_stable_half_equator(f[:-2]) for f in final])
    cls = out["final_class"].reshape(3, n)
    assert np.all(cls[:, :-2][captured] == FIXED_POINT)
    # the others precess about the shifted minima, slowly for small damping: never a limit cycle
    assert np.all(np.isin(cls[:, :-2][~captured], [FIXED_POINT, UNRESOLVED]))
    middle = np.abs(phi - 1.5 * np.pi) < 0.5 * np.pi - 0.7
    assert np.all(captured[:2, np.concatenate([middle, middle])])  # alpha_G = gamma eta <~ 0.02
    counts = captured.sum(1)
    assert counts[0] >= 16 and counts[0] > counts[1] > counts[2], counts
    assert np.all(cls[2, -2:] == FIXED_POINT)  # (slower to settle with the smaller dampings)
    mz = np.sqrt(1 - (c / (2 * J0)) ** 2)
    np.testing.assert_allclose(final[2, -2:], [[-c / (2 * J0), 0, mz], [c / (2 * J0), 0, -mz]], atol=1e-6)
    # without the electric field the same near-equator starts fall to the poles
    res0 = integrate_llg(ti_surface_llg(0.0, eta=0.05), starts[:-2], T, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(np.abs(res0.m[:, 2]), 1.0, atol=1e-6)


def test_ti_surface_strong_field_every_start_ends_on_the_half_equator():
    # eE|alpha|/(4 pi a) > 2 J0 m^2: no critical trajectories left, every start ends on the half
    # equator phi in (0, pi); just below the threshold the pole regions still hold fixed points
    m0 = fibonacci_sphere(120)
    c = np.repeat([2.5 * J0, 1.5 * J0], len(m0))
    res = integrate_llg(ti_surface_llg(c, width=0.05), np.tile(m0, (2, 1)), 50.0, rtol=1e-7, atol=1e-9)
    assert np.all(res.status == 0)
    strong, weak = res.m[: len(m0)], res.m[len(m0):]
    assert np.all(on_stable_half_equator(strong)), strong[~on_stable_half_equator(strong)]
    # below the threshold some starts end at the fixed points m_x = -/+ c/(2 J0) of G_N / G_S
    left = weak[~on_stable_half_equator(weak)]
    assert len(left) >= 5
    mx, mz = 0.75, np.sqrt(1 - 0.75**2)
    fixed_points = np.array([[-mx, 0, mz], [mx, 0, -mz]])
    assert np.max(np.min(np.linalg.norm(left[:, None] - fixed_points[None], axis=-1), axis=1)) < 1e-4


def ti_sphere_dataset(n_theta, n_phi, c_per_field=1 / (4 * np.pi), width=0.1):
    """A synthetic Dataset in the sphere.zarr layout for the 3D-TI surface (eqs. 2.34-2.36)."""
    theta, phi = sphere_grid(n_theta, n_phi)
    m = unit_vectors(theta, phi)
    G = -J0 * m[..., 2] ** 2
    H = np.zeros_like(m)
    H[..., 2] = 2 * J0 * m[..., 2]
    hE = np.zeros(m.shape + (2,))
    hE[..., 0, 0] = -c_per_field * np.tanh(m[..., 2] / width)
    gam = ti_gamma(m.reshape(-1, 3)).reshape(m.shape[:2])
    eta = np.broadcast_to(ETA_TI * np.eye(3), m.shape[:2] + (3, 3))
    comp = np.array(["x", "y", "z"], dtype=object)
    return xr.Dataset(
        {"free_energy": (("theta", "phi"), G), "effective_field": (("theta", "phi", "component"), H),
         "gyromagnetic_ratio": (("theta", "phi"), gam), "damping": (("theta", "phi", "component", "component2"), eta),
         "field_induced_field": (("theta", "phi", "component", "field"), hE)},
        coords={"theta": theta, "phi": phi, "component": comp, "component2": comp,
                "field": np.array(["x", "y"], dtype=object)},
        attrs={"magnetization_magnitude": 1.0})


def test_ti_surface_from_tabulated_maps_matches_analytic():
    # the interpolation path: G, H, gamma, eta and H^E read from a sphere.zarr-shaped Dataset
    width, c = 0.1, 2.5 * J0
    eE = 4 * np.pi * c  # c = eE |alpha| / (4 pi m a) with alpha = m = a = 1
    ds = ti_sphere_dataset(73, 96, width=width)
    spec = {"gamma": {"sphere": "gyromagnetic_ratio"}, "damping": {"sphere": "damping"},
            "terms": [{"kind": "sphere_free_energy"},
                      {"kind": "sphere_field_induced", "electric_field": [eE, 0.0]}]}
    tab = build_llg(spec, sphere=ds)
    ana = ti_surface_llg(c, width=width)
    m0 = fibonacci_sphere(40)
    np.testing.assert_allclose(tab.rate(m0), ana.rate(m0), atol=2e-3 * np.max(np.abs(ana.rate(m0))))
    r_tab = integrate_llg(tab, m0, 60.0, rtol=1e-8, atol=1e-10)
    r_ana = integrate_llg(ana, m0, 60.0, rtol=1e-8, atol=1e-10)
    assert np.all(on_stable_half_equator(r_tab.m, tol=1e-3))
    np.testing.assert_allclose(r_tab.m, r_ana.m, atol=2e-2)
