"""The chemical-potential and relaxation-time axes of a sweep point in one pass over (k, m).

The electron states of an expensive sweep point that differ only in the chemical potential and
the relaxation time share their eigensystems: :func:`sphere_sums_by_state` runs one
:func:`magcore.fermi_scan.scan_over_mesh` per group of such states (same temperature and
smearing), at tau = 1, scales the sums proportional to tau (``KernelSum.tau``) by each state's
tau, and gives each state the chapter-2 k-sums of its sphere grid, which the sphere stage then
turns into its maps instead of integrating again (:func:`magcore.sphere.sphere_map`, ``sums``).
At T = 0 and zero smearing the sums are those of a single-mu integration up to the order of the
additions (~1e-13 of each sum's scale); otherwise they carry the stated Taylor bound of :mod:`magcore.fermi_scan`, written into
the sphere store's attributes.  Models :class:`magcore.fermi_scan.FermiScan` does not cover and
states whose chemical potential is not given explicitly are integrated state by state, as when
``sweep.fermi_scan`` is false.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from typing import Any

import numpy as np

from .quantities import KERNEL_SUMS
from .settings import StudySettings
from .sphere import unit_vectors

log = logging.getLogger("magcore")

MU_PATH = ("electrons", "chemical_potential")


def _supported(settings: StudySettings) -> bool:
    from .models.base import TwoBandModel

    model = settings.model.build()
    if isinstance(model, TwoBandModel):
        return True
    if model.exchange_coupling() is None:
        return False
    m = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]) * settings.magnitude
    return bool(np.all(model.k_center(m) == model.k_center(m[:1])))


def sphere_sums_by_state(states: list[tuple[int, dict[str, Any]]], needed: set[int],
                         client=None) -> dict[int, tuple[dict, dict]]:
    """The sphere-grid k-sums of the electron states ``states`` ((key, resolved config), every
    state of one expensive point) whose keys are in ``needed``, from one Fermi scan per group of
    states that differ only in mu: key -> (sums (P, ...), store attributes).  A group is always
    scanned whole (its mu values set the deposits' bins), so a resumed sweep gives the values of
    an uninterrupted one bit for bit.  States left out are integrated by the sphere stage."""
    from .fermi_scan import scan_over_mesh

    groups: dict[str, list[tuple[int, dict, StudySettings]]] = {}
    for key, cfg in states:
        settings = StudySettings.from_config(cfg)
        mu = cfg["electrons"]["chemical_potential"]
        if mu is None:
            continue
        rest = json.dumps({**cfg, "electrons": {**cfg["electrons"], "chemical_potential": None,
                                                "relaxation_time": None}}, sort_keys=True, default=str)
        groups.setdefault(rest, []).append((key, cfg, settings))
    out: dict[int, tuple[dict, dict]] = {}
    for members in groups.values():
        mu_of = np.array([float(cfg["electrons"]["chemical_potential"]) for _, cfg, _ in members])
        mus = np.unique(mu_of)
        if len(members) < 2 or not any(key in needed for key, _, _ in members) or not _supported(members[0][2]):
            continue
        settings = members[0][2]
        model = settings.model.build()
        theta, phi = settings.sphere.angles()
        m = settings.magnitude * unit_vectors(theta, phi).reshape(-1, 3)
        comp = settings.compute
        electrons = replace(settings.electrons, relaxation_time=1.0)  # the tau sums are scaled per state
        log.info("Fermi scan: %d electron states from one pass over %d magnetizations", len(mus), len(m))
        scan = scan_over_mesh(model, m, settings.mesh.build(model), electrons, mus, client=client,
                              points_per_chunk=comp.points_per_chunk, k_block=comp.k_block)
        exact = electrons.temperature == 0 and electrons.fermi_surface_temperature == 0
        how = (f"one pass over {len(members)} electron states ({len(mus)} chemical potentials; magcore.fermi_scan): "
               + ("exact at T = 0 up to the order of the additions" if exact else
                  "Taylor moments, error bounds in k_sums_error_bound"))
        for (key, cfg, _), mu in zip(members, mu_of):
            if key not in needed:
                continue
            j = int(np.searchsorted(mus, mu))
            tau = float(cfg["electrons"]["relaxation_time"])
            sums = {s.name: scan[s.name][:, j] * (tau if s.tau else 1.0) for s in KERNEL_SUMS}
            bounds = {s.name: float(np.max(scan[f"{s.name}_error_bound"])) * (tau if s.tau else 1.0)
                      for s in KERNEL_SUMS if f"{s.name}_error_bound" in scan}
            out[key] = (sums, {"k_sums": how, "k_sums_error_bound": json.dumps(bounds)})
    return out
