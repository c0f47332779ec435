"""Magnetization dynamics on the sphere: the LLG equation of dissertation chapter 2.

``model``     the vector-form LLG (eqs. 2.15, 2.26), energy/field terms, config specs
``interp``    smooth interpolation of tabulated sphere maps (double Fourier sphere splines)
``integrate`` batch Dormand-Prince integrator with per-trajectory steps, |m| = 1 kept
``classify``  fixed point / limit cycle / unresolved / singular point from tail samples
``sweep``     parameter grids -> classified xarray Dataset
``edge``      the 2D-TI edge model of section 2.4.1 (eqs. 2.43-2.45)
``spec``      up-front checks of the ``llg`` config section (expressions on the sweep grid, ...)
"""

from ._util import frame_vectors, from_angles, to_angles
from .classify import (CLASS_MEANINGS, CLASS_VALUES, FIXED_POINT, INTEGRATION_FAILED, LIMIT_CYCLE, SINGULAR_POINT,
                       UNRESOLVED, ClassifyOptions, classify)
from .edge import edge_minima, edge_model, edge_spec
from .integrate import Recording, Result, integrate, integrate_llg
from .interp import SphereInterpolator, SphereMaps, fill_nan
from .model import (LLG, FaradayField, FieldFunction, HemisphereField, SphereFieldInduced, SphereFreeEnergy,
                    SphereTorque, Term, Torque, UniaxialAnisotropy, Zeeman, build_llg, ti_edge_anisotropy)
from .sweep import axis_values, edge_angles, initial_vectors, sweep, sweep_from_config

__all__ = [
    "LLG", "Term", "UniaxialAnisotropy", "Zeeman", "FaradayField", "HemisphereField", "FieldFunction",
    "SphereFreeEnergy", "SphereFieldInduced", "SphereTorque", "Torque", "ti_edge_anisotropy", "build_llg",
    "SphereInterpolator", "SphereMaps", "fill_nan",
    "integrate", "integrate_llg", "Result", "Recording",
    "classify", "ClassifyOptions", "CLASS_VALUES", "CLASS_MEANINGS", "FIXED_POINT", "LIMIT_CYCLE", "UNRESOLVED",
    "SINGULAR_POINT", "INTEGRATION_FAILED",
    "sweep", "sweep_from_config", "axis_values", "initial_vectors", "edge_angles",
    "edge_model", "edge_spec", "edge_minima", "frame_vectors", "from_angles", "to_angles",
]
