"""magcore: semiclassical magnetization dynamics from band structures.

The library behind the magcore Snakemake pipeline.  Modules, one job each:

Physics
``magcore.models``       Bloch Hamiltonians H(k; m) with analytic dH/dk and dH/dm (package)
``magcore.bands``        batched eigensystems, gaps and near-degeneracy detection
``magcore.geometry``     sum-over-states Berry curvatures and band sums
``magcore.electrons``    the electronic state (mu, filling, temperature, smearing, tau)
``magcore.occupation``   Fermi-Dirac occupation and grand potential per state
``magcore.kmesh``        quadrature meshes (continuum discs, Brillouin zones)
``magcore.sphere``       coefficient maps over the magnetization sphere (chapter 2)
``magcore.quantities``   the catalogue of the sphere maps (one entry per stored quantity)
``magcore.pumping``      work of H^E around closed magnetization paths (eqs. 2.25, 2.42)
``magcore.texture``      domain walls and skyrmions m(r) with analytic gradients (chapter 3)
``magcore.wavepacket``   second-order wavepacket coefficients, DMI, spin densities (chapter 3)
``magcore.topology``     link-method first and second Chern numbers
``magcore.llg``          LLG dynamics, sweeps and classification of final states (package)

Computation
``magcore.kernels``      compiled (numba) eigensolver and fused k-sums
``magcore.linalg``       eigensystems of many small Hermitian matrices, SIMD lanes (package)
``magcore._numba``       compile options shared by the numba kernels
``magcore.engine``       map/reduce over chunks x k-blocks, fixed-order sums, checkpoints (package)
``magcore.cluster``      Dask ``distributed`` clusters for the heavy integrals

Studies and the workflow
``magcore.config``       study configuration: loading, defaults and validation
``magcore.settings``     typed, frozen settings of a study built from the resolved configuration
``magcore.study``        one-call builders of a study's model, meshes and grids
``magcore.budget``       up-front memory and work estimates checked against ``compute.limits``
``magcore.sweep``        parameter sweeps: the ``sweep`` section, its points, configs and keys
``magcore.sweep_spec``   the layer below ``magcore.sweep``: the section's axes, points and checks
``magcore.sweep_store``  point stores of a sweep stacked along the sweep dimensions
``magcore.stages``       entry points of the workflow stages, one call per Snakemake rule
``magcore.fingerprint``  one hash of everything that determines a stage's result
``magcore.store``        zarr stores with provenance
``magcore.compare``      bitwise comparison of stores, and of the shipped studies at two revisions
``magcore.cli``          the ``magcore`` command (status, compare, compare-revisions)
``magcore.plots``        the dissertation's figures from stored data
``magcore._faults``      fault injection for the interruption tests (inert unless a test asks)

``magcore/data/config.schema.yaml`` is the configuration schema shipped as package data (a link to
``workflow/schemas/config.schema.yaml``).
"""

__version__ = "0.1.0"
