"""Helpers shared by several files of tests/physics (a plain module, not a conftest: a second
conftest.py would shadow the ``from conftest import ...`` of tests/workflow)."""

from __future__ import annotations

import functools
import warnings

import numpy as np

from magcore.kmesh import disc_mesh
from magcore.models import get_model
from magcore.sphere import Electrons, GapClosingWarning, sphere_grid, sphere_map

# ------------------------------------------------------------------------------ LLG

TIGHT = dict(rtol=1e-10, atol=1e-12)

Y_FRAME = {"theta": "theta0*pi", "phi": "phi0*pi", "polar_axis": "y"}


def fibonacci_sphere(n):
    i = np.arange(n) + 0.5
    z = 1 - 2 * i / n
    ph = np.pi * (1 + 5**0.5) * i
    r = np.sqrt(1 - z * z)
    return np.stack([r * np.cos(ph), r * np.sin(ph), z], axis=-1)


# ------------------------------------------------------------------------------ geometry, topology

M0 = np.array([0.0, 0.0, 1.0])


def dagger(x):
    return np.conj(np.swapaxes(x, -1, -2))


# ------------------------------------------------------------------------------ models

RASHBA = {"m_star": 0.35, "alpha_R": 0.7, "J": 0.12}

# ------------------------------------------------------------------------------ chapter-2 sphere maps of ti_surface

TI_MAP_J = 1.0


def ti_map(n_theta=19, n_phi=8, kc=400.0, electrons=Electrons(), order=8):
    model = get_model("ti_surface", J=TI_MAP_J, v=1.0)
    theta, phi = sphere_grid(n_theta, n_phi)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GapClosingWarning)
        return sphere_map(model, theta, phi, disc_mesh(kc, 16, order, 0.4, 8), electrons)


def away_from_equator(ds, margin=0.15):
    return (np.abs(ds.theta.values - np.pi / 2) > margin)[:, None] & np.ones(ds.sizes["phi"], bool)


def metal(smearing=0.05, T=0.0, tau=2.0, mu=1.5):
    return Electrons(chemical_potential=mu, temperature=T, smearing=smearing, relaxation_time=tau)


# ------------------------------------------------------------------------------ textures

def fd_grad(tex, r, h=1e-4):
    """Fourth-order central differences of a texture's m(r) along the two in-plane axes."""
    out = []
    for j in range(2):
        e = np.zeros(2)
        e[j] = h
        mp, _ = tex(r + e)
        mm, _ = tex(r - e)
        m2p, _ = tex(r + 2 * e)
        m2m, _ = tex(r - 2 * e)
        d1 = (mp - mm) / (2 * h)
        d2 = (m2p - m2m) / (4 * h)
        out.append((4 * d1 - d2) / 3)
    return np.stack(out, axis=-2)


# ------------------------------------------------------------------------------ chapter 3 (wavepacket)

M_GENERIC = np.array([0.31, -0.52, 0.79])


def rng(seed=7):
    """A fresh generator with a fixed seed: the draws do not depend on which tests ran before."""
    return np.random.default_rng(seed)


@functools.cache
def wte2_bloch_wall_response():
    """The section-3.5 wall response of WTe2 (Bloch wall, lowest two bands filled), computed once
    per test process for the files of eqs. 3.81 and 3.87."""
    from magcore import wavepacket as wp
    from magcore.kmesh import bz_mesh
    from magcore.texture import DomainWall

    model = get_model("tmd", material="WTe2")
    mesh = bz_mesh(model.reciprocal_vectors(), 30)
    y = np.array([-100.0, -30.0, 0.0, 30.0, 100.0])
    return wp.wall_response(model, DomainWall.bloch(100.0), y, mesh, filling=2, k_block=4096)
