"""What ``simulate`` adds after a run: post-hoc alignment and group measures, on request.

``Config.align`` applies one method of :mod:`gapsim.alignment` to the final points of
modalities 0 and 1 (with subspace constraints SSP and the rotation use the known subspaces,
otherwise bases estimated from the data) and reports its measures with the prefix
``aligned_``. With ``Config.classes`` the group measures of :mod:`gapsim.core.groups` (k-means on
the mixed set, the unimodal control, kNN) are added for the labels ``i mod K``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from gapsim.alignment import gap_shift, hyperplane_rotation, mean_removal, ssp, ssp_from_bases
from gapsim.core.groups import group_measures
from gapsim.errors import ConfigError

if TYPE_CHECKING:
    from gapsim.app.config import Config

__all__ = ["posthoc_measures"]


def _align(cfg: Config, x, y, qu, qv, tau: float):
    if cfg.align == "shift":
        return gap_shift(x, y, cfg.align_lambda, tau=tau)
    if cfg.align == "mean_removal":
        return mean_removal(x, y, tau=tau)
    known = qu is not None and qv is not None
    if cfg.align == "ssp":
        return ssp_from_bases(x, y, qu, qv, tau=tau) if known else ssp(x, y, tau=tau)
    return hyperplane_rotation(x, y, qu, qv, tau=tau)


def posthoc_measures(
    cfg: Config,
    x: np.ndarray,
    y: np.ndarray,
    qu: np.ndarray | None,
    qv: np.ndarray | None,
    tau: float,
) -> dict[str, Any]:
    """Aligned measures (``aligned_*``) and group measures requested by ``cfg``.

    A method that cannot apply (e.g. SSP finding no shared direction) is reported as
    ``aligned_error`` with its message instead of failing the run.
    """
    out: dict[str, Any] = {}
    if cfg.align != "none":
        try:
            res = _align(cfg, x, y, qu, qv, tau)
            out.update({f"aligned_{k}": v for k, v in res.after.items()})
        except ConfigError as e:
            out["aligned_error"] = str(e)
    if cfg.classes > 0:
        out.update(group_measures(x, y, np.arange(cfg.n_pairs) % cfg.classes, seed=cfg.seed))
    return out
