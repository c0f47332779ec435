"""magcore: semiclassical magnetization dynamics from band structures.

The library behind the magcore Snakemake pipeline.  Modules, one job each:

``magcore.models``     Bloch Hamiltonians H(k; m) with analytic dH/dk and dH/dm
``magcore.bands``      batched eigensystems, gaps and near-degeneracy detection
``magcore.geometry``   sum-over-states Berry curvatures and band sums
``magcore.occupation`` Fermi-Dirac occupation and grand potential per state
``magcore.kmesh``      quadrature meshes (continuum discs, Brillouin zones)
``magcore.sphere``     coefficient maps over the magnetization sphere (chapter 2)
``magcore.pumping``    work of H^E around closed magnetization paths (eqs. 2.25, 2.42)
``magcore.texture``    domain walls and skyrmions m(r) with analytic gradients (chapter 3)
``magcore.wavepacket`` second-order wavepacket coefficients, DMI, spin densities (chapter 3)
``magcore.topology``   link-method first and second Chern numbers
``magcore.llg``        LLG dynamics, sweeps and classification of final states
``magcore.kernels``    compiled (numba) eigensolver and fused k-sums
``magcore.cluster``    Dask ``distributed`` clusters for the heavy integrals
``magcore.store``      zarr stores with provenance
``magcore.plots``      the dissertation's figures from stored data
``magcore.config``     study configuration: loading, defaults and validation
"""

__version__ = "0.1.0"
