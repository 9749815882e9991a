"""gapsim: the modality gap of contrastive learning, simulated over free points on the sphere.

The public names below are imported lazily (PEP 562): ``import gapsim`` is cheap, and a name
such as ``gapsim.simulate`` imports its module (and JAX) on first use. The command line
(:mod:`gapsim.cli`) relies on this for a fast ``gapsim --help``.

Importing gapsim leaves JAX's configuration alone: 64-bit precision is requested where it is
needed (certified solvers, certificates, float64 runs) with :func:`gapsim.core.precision.x64`, and
the caller's setting is restored afterwards.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from gapsim import _compat, _lazy
from gapsim._version import __version__

_compat.install()  # old module paths (gapsim.loss, ...) still import, with a DeprecationWarning

_EXPORTS = {
    "gapsim.alignment": (
        "AlignResult",
        "GapShiftCurve",
        "data_basis",
        "gap_shift",
        "gap_shift_curve",
        "hyperplane_rotation",
        "inject_gap",
        "mean_removal",
        "ssp",
        "ssp_from_bases",
    ),
    "gapsim.analysis": ("Analysis", "analyze"),
    "gapsim.app.batch": ("best_of_seeds",),
    "gapsim.core.certificate": ("SecondOrder", "kkt_certificate"),
    "gapsim.app.config": ("Config",),
    "gapsim.errors": ("ConfigError", "DivergenceError"),
    "gapsim.core.sets": ("Constraint", "cap_axis", "mean_resultant_length", "project", "tangent"),
    "gapsim.core.groups": ("cluster_scores", "group_measures", "knn_accuracy"),
    "gapsim.app.init": ("INITS", "initial_points", "register_init", "uniform_in_cap"),
    "gapsim.core.loss": ("infonce", "infonce_value_and_grad"),
    "gapsim.core.measures": ("measures", "subspace_measures"),
    "gapsim.app.parts": ("make_constraints", "prepare"),
    "gapsim.app.result": ("Certificate", "Result"),
    "gapsim.app.simulate": ("simulate",),
    "gapsim.core.solvers": ("run_dynamics", "run_lbfgs", "stationarity"),
    "gapsim.core.subspaces": (
        "hyperplane_pair",
        "orthonormalize",
        "principal_angles",
        "principal_vectors",
        "subspace_pair",
    ),
    "gapsim.studies.theory": ("large_n_limit", "simplex_loss"),
}
__getattr__, __dir__, _names, _WHERE = _lazy.attach(globals(), _EXPORTS)
__all__ = ["__version__", *_names]


class _Package(types.ModuleType):
    """The gapsim package: a public name wins over the submodule of the same name.

    Importing ``gapsim.simulate`` (the module's old path, :mod:`gapsim._compat`) sets the package
    attribute ``simulate`` to the module; the public name ``gapsim.simulate`` is the function, as
    with eager imports.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and _WHERE.get(name) == value.__name__:
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
