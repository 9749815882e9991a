"""gapsim: the modality gap of contrastive learning, simulated over free points on the sphere.

gapsim switches on JAX's 64-bit mode at import (``jax_enable_x64``): certified optima are
computed in float64. Every array gapsim creates carries an explicit dtype, so float32 runs stay
float32.
"""

import jax

jax.config.update("jax_enable_x64", True)

from gapsim._version import __version__  # noqa: E402
from gapsim.alignment import (  # noqa: E402
    AlignResult,
    GapShiftCurve,
    data_basis,
    gap_shift,
    gap_shift_curve,
    hyperplane_rotation,
    inject_gap,
    mean_removal,
    ssp,
    ssp_from_bases,
)
from gapsim.analysis import Analysis, analyze  # noqa: E402
from gapsim.config import Config  # noqa: E402
from gapsim.errors import ConfigError, DivergenceError  # noqa: E402
from gapsim.geometry import Constraint, make_constraints, project, tangent  # noqa: E402
from gapsim.groups import cluster_scores, group_measures, knn_accuracy  # noqa: E402
from gapsim.init import INITS, initial_points, register_init, uniform_in_cap  # noqa: E402
from gapsim.loss import infonce, infonce_value_and_grad  # noqa: E402
from gapsim.measures import measures, subspace_measures  # noqa: E402
from gapsim.result import Certificate, Result  # noqa: E402
from gapsim.simulate import best_of_seeds, simulate  # noqa: E402
from gapsim.solvers import run_dynamics, run_lbfgs, stationarity  # noqa: E402
from gapsim.subspaces import (  # noqa: E402
    hyperplane_pair,
    orthonormalize,
    principal_angles,
    principal_vectors,
    subspace_pair,
)
from gapsim.theory import large_n_limit, simplex_loss  # noqa: E402

__all__ = [
    "__version__",
    "AlignResult",
    "Analysis",
    "GapShiftCurve",
    "analyze",
    "cluster_scores",
    "data_basis",
    "gap_shift",
    "gap_shift_curve",
    "group_measures",
    "hyperplane_rotation",
    "inject_gap",
    "knn_accuracy",
    "mean_removal",
    "ssp",
    "ssp_from_bases",
    "Certificate",
    "Config",
    "ConfigError",
    "Constraint",
    "DivergenceError",
    "INITS",
    "best_of_seeds",
    "Result",
    "hyperplane_pair",
    "infonce",
    "infonce_value_and_grad",
    "initial_points",
    "large_n_limit",
    "make_constraints",
    "measures",
    "orthonormalize",
    "principal_angles",
    "principal_vectors",
    "project",
    "register_init",
    "run_dynamics",
    "run_lbfgs",
    "simplex_loss",
    "simulate",
    "stationarity",
    "subspace_measures",
    "subspace_pair",
    "tangent",
    "uniform_in_cap",
]
