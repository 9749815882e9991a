r"""Post-hoc alignment of two point sets: remove (or widen) the modality gap after training.

Every method takes paired unit rows ``x``, ``y`` (``(N, d)``, row i of each is a pair) and
returns an :class:`AlignResult`: the new points and the measures of
:func:`gapsim.core.measures.measures` before and after (with the centroid-angle ill-conditioning
flag as in ``gapsim.simulate``), plus method details in ``info``.

- :func:`gap_shift`: shift along the gap vector (Liang et al. 2022); :func:`gap_shift_curve`
  gives the InfoNCE loss as a function of the shift (their embedding-shift experiment).
- :func:`ssp` / :func:`ssp_from_bases`: shared space projection (Yi, Douady & Chen 2025, Cor 4).
- :func:`hyperplane_rotation`: rotate one subspace onto the other (Yi et al. 2025, Cor 3).
- :func:`mean_removal`: subtract each modality's mean and renormalise (a common baseline).
- :func:`inject_gap`: the reverse, a gap orthogonal to every point (Grassucci et al. 2026).

Renormalisation: a row whose norm before renormalising is below :data:`DEGENERATE_NORM` has no
reliable direction (e.g. :math:`P_C x = 0` in SSP); it is replaced by a fixed reference point
(the library's zero-vector policy, :mod:`gapsim.core.sets`: the first basis vector of the target
subspace, :math:`e_1` without one) and counted in ``info["degenerate_x"]`` / ``["degenerate_y"]``.
Never NaN. All computation is float64 on the host (NumPy, with JAX for the loss).
"""

from gapsim.alignment._common import DEGENERATE_NORM, AlignResult, GapShiftCurve
from gapsim.alignment.shift import gap_shift, gap_shift_curve, inject_gap, mean_removal
from gapsim.alignment.subspace import data_basis, hyperplane_rotation, ssp, ssp_from_bases

__all__ = [
    "AlignResult",
    "GapShiftCurve",
    "gap_shift",
    "gap_shift_curve",
    "data_basis",
    "ssp",
    "ssp_from_bases",
    "hyperplane_rotation",
    "mean_removal",
    "inject_gap",
    "DEGENERATE_NORM",
]
