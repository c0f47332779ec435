"""The electron-state axes of a sweep point in one pass over (k, m).

The electron states of an expensive sweep point (chemical potential, temperature, relaxation
time, smearing) share their eigensystems: :func:`sphere_sums_by_state` runs one
:func:`magcore.fermi_scan.scan_over_mesh` per group of such states (the deposits serve every
mu and every temperature/smearing pair), at tau = 1, scales the sums proportional to tau
(``KernelSum.tau``) by each state's tau, and gives each state the chapter-2 k-sums of its
sphere grid, which the sphere stage then turns into its maps instead of integrating again
(:func:`magcore.sphere.sphere_map`, ``sums``).  At T = 0 and zero smearing the sums are those
of a single-mu integration up to the order of the additions (~1e-13 of each sum's scale);
otherwise they carry the stated Taylor bound of :mod:`magcore.fermi_scan`, written into the
sphere store's attributes.  Models :class:`magcore.fermi_scan.FermiScan` does not cover and
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
    states that differ only in the electron state (mu, T, tau, smearing): key -> (sums (P, ...),
    store attributes).  A group is always scanned whole (its mu values and temperatures set the
    deposits' bins), so a resumed sweep gives the values of an uninterrupted one bit for bit.
    States left out are integrated by the sphere stage."""
    from .fermi_scan import scan_over_mesh

    varying = ("chemical_potential", "relaxation_time", "temperature", "smearing")
    groups: dict[str, list[tuple[int, dict, StudySettings]]] = {}
    for key, cfg in states:
        if cfg["electrons"]["chemical_potential"] is None:
            continue
        rest = json.dumps({**cfg, "electrons": {**cfg["electrons"], **dict.fromkeys(varying)}}, sort_keys=True,
                          default=str)
        groups.setdefault(rest, []).append((key, cfg, StudySettings.from_config(cfg)))
    out: dict[int, tuple[dict, dict]] = {}
    for members in groups.values():
        if len(members) < 2 or not any(key in needed for key, _, _ in members) or not _supported(members[0][2]):
            continue
        mu_of = [float(cfg["electrons"]["chemical_potential"]) for _, cfg, _ in members]
        mus = np.unique(mu_of)
        # one scan state per (T, smearing), at tau = 1: the sums proportional to tau are scaled per state
        kinds = sorted({(st.electrons.temperature, st.electrons.smearing) for _, _, st in members})
        settings = members[0][2]
        scan_states = [replace(settings.electrons, temperature=T, smearing=sm, relaxation_time=1.0) for T, sm in kinds]
        model = settings.model.build()
        theta, phi = settings.sphere.angles()
        m = settings.magnitude * unit_vectors(theta, phi).reshape(-1, 3)
        comp = settings.compute
        log.info("Fermi scan: %d electron states (%d chemical potentials, %d temperature/smearing pairs) from one "
                 "pass over %d magnetizations", len(members), len(mus), len(kinds), len(m))
        scans = scan_over_mesh(model, m, settings.mesh.build(model), scan_states, mus, client=client,
                               points_per_chunk=comp.points_per_chunk, k_block=comp.k_block)
        for (key, cfg, st), mu in zip(members, mu_of):
            if key not in needed:
                continue
            e = st.electrons
            scan = scans[kinds.index((e.temperature, e.smearing))]
            j = int(np.searchsorted(mus, mu))
            tau = float(e.relaxation_time)
            sums = {s.name: scan[s.name][:, j] * (tau if s.tau else 1.0) for s in KERNEL_SUMS}
            bounds = {s.name: float(np.max(scan[f"{s.name}_error_bound"])) * (tau if s.tau else 1.0)
                      for s in KERNEL_SUMS if f"{s.name}_error_bound" in scan}
            exact = e.temperature == 0 and e.fermi_surface_temperature == 0
            how = (f"one pass over {len(members)} electron states ({len(mus)} chemical potentials, {len(kinds)} "
                   f"temperature/smearing pairs; magcore.fermi_scan): "
                   + ("exact at T = 0 up to the order of the additions" if exact else
                      "Taylor moments, error bounds in k_sums_error_bound"))
            out[key] = (sums, {"k_sums": how, "k_sums_error_bound": json.dumps(bounds)})
    return out
