"""The result of a simulation, its convergence certificate, and saving/loading it.

On disk a result is two files side by side: ``NAME.json`` (version, config, certificate, final
measures, the list of arrays) and ``NAME.npz`` (final and initial points, trajectory, extra
arrays). Both are written to a hidden temporary name and renamed, so a crash never leaves half a
file, and the arrays' SHA-256 in the JSON tells :meth:`Result.load` whether the two files
belong together.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from gapsim._version import __version__
from gapsim.app.config import Config
from gapsim.errors import ConfigError

__all__ = ["Certificate", "Result", "SUMMARY_KEYS"]

SUMMARY_KEYS = (
    "loss",
    "centroid_distance",
    "centroid_angle",
    "paired_cosine_mean",
    "paired_cosine_min",
    "grad_norm",
    "converged",
    "steps",
)


@dataclass(frozen=True)
class Certificate:
    """Whether a run reached a local minimum, and how that was decided.

    First order: the stationarity measure ``grad_norm`` (``criterion``) and the KKT residual
    ``kkt_residual`` of :func:`gapsim.core.certificate.kkt_certificate` (equal on smooth sets).
    Second order (``Config.second_order``, deterministic objectives): the smallest eigenvalue
    ``lambda_min`` of the Hessian of the Lagrangian on the critical subspace, with the
    ``n_symmetries`` zero modes of joint rotations deflated, against ``hess_tol``.

    Attributes:
        converged: ``kind == "minimum"`` (or, with the second order off, first-order stationary).
        grad_norm: the stationarity measure at the final points, evaluated in float64.
        gtol: the tolerance.
        criterion: ``riemannian_grad_norm`` (smooth sets) or ``gradient_mapping_norm`` (caps).
        steps: steps (or L-BFGS iterations) taken.
        solver: the solver used.
        kind: ``minimum``, ``saddle``, ``not stationary``, ``undecided`` (the eigensolver did
            not converge), ``degenerate``, ``stationary`` (second order off)
            or ``stochastic`` (no deterministic stationary point; never converged).
        kkt_residual: first-order KKT residual (NaN when not computed).
        lambda_min: smallest curvature without symmetries (NaN when not computed).
        hess_tol: tolerance on ``lambda_min`` (precision of the computed eigenvalue).
        n_symmetries: rotation zero modes deflated.
        position_error: ``kkt_residual / lambda_min``, how far the points are pinned
            (inf when not positive definite or not computed).
        method: ``dense``, ``lanczos`` or ``matrix-free`` eigensolver, ``none``.

    The remaining fields are those of the KKT certificate
    (:class:`gapsim.core.certificate.SecondOrder`, whose fields are all fields of this one:
    :meth:`of` takes them by name): ``symmetry_curvature``, ``n_active``, ``n_weak``,
    ``min_multiplier``, ``dim``, ``eig_error`` (the bound on the error of ``lambda_min``),
    ``matvecs``, ``hess_norm``.
    """

    converged: bool
    grad_norm: float
    gtol: float
    criterion: str
    steps: int
    solver: str
    kind: str = "stationary"
    kkt_residual: float = math.nan
    lambda_min: float = math.nan
    hess_tol: float = math.nan
    n_symmetries: int = 0
    position_error: float = math.inf
    method: str = "none"
    symmetry_curvature: float = math.nan
    n_active: int = 0
    n_weak: int = 0
    min_multiplier: float = math.nan
    dim: int = 0
    eig_error: float = math.nan
    matvecs: int = 0
    hess_norm: float = math.nan

    @classmethod
    def of(
        cls, kkt: Any, *, grad_norm: float, criterion: str, steps: int, solver: str
    ) -> Certificate:
        """The run's certificate from the KKT certificate ``kkt`` (a ``SecondOrder``).

        Every field of ``kkt`` by name, plus the run's own; ``converged`` is
        ``kind == "minimum"``.
        """
        return cls(
            converged=kkt.kind == "minimum",
            grad_norm=grad_norm,
            criterion=criterion,
            steps=steps,
            solver=solver,
            **kkt._asdict(),
        )

    def __str__(self) -> str:
        word = "converged" if self.converged else "NOT converged"
        text = (
            f"{word}: {self.criterion} = {self.grad_norm:.3e} "
            f"({'<=' if self.grad_norm <= self.gtol else '>'} gtol {self.gtol:.1e}) after "
            f"{self.steps} {self.solver} steps"
        )
        if math.isfinite(self.lambda_min):
            text += (
                f"; {self.kind}: lambda_min = {self.lambda_min:.3e} (hess_tol "
                f"{self.hess_tol:.1e}, {self.n_symmetries} symmetries deflated, {self.method}), "
                f"position error {self.position_error:.1e}"
            )
        else:
            text += f"; {self.kind}"
        return text

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (NaN/inf become None; :meth:`from_dict` restores them)."""
        return jsonable(asdict(self))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Certificate:
        """Inverse of :meth:`to_dict`; files without the second-order fields load too."""
        d = dict(d)
        for f in fields(cls):  # None (a NaN or inf in JSON) is the field's own default
            if f.name in d and d[f.name] is None:
                d[f.name] = f.default
        return cls(**d)


@dataclass(frozen=True)
class Result:
    """Everything a run produced.

    Attributes:
        config: the configuration.
        z: final points ``(M, N, d)`` (float64, on the constraint sets); ``x``, ``y`` are
            ``z[0]``, ``z[1]``.
        z0: starting points (replay a run with ``simulate(config, z0)``).
        history: trajectory arrays keyed by :data:`gapsim.app.simulate.RECORD_KEYS`, one entry per
            record (every ``stride`` steps, plus step 0 and the last step); with
            ``simulate(..., record_points=True)`` also ``"z"``, the points ``(n_records, M, N, d)``.
        measures: final scalar measures; ``centroid_angle`` is NaN when ill-conditioned
            (``centroid_angle_ill_conditioned``; the raw value is ``centroid_angle_raw``).
        arrays: extra arrays (subspace runs: ``principal_angles``, ``private_a``, ``private_b``).
        certificate: the convergence certificate.
        version: gapsim version that produced it.
    """

    config: Config
    z: np.ndarray
    z0: np.ndarray
    history: dict[str, np.ndarray]
    measures: dict[str, Any]
    certificate: Certificate
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    version: str = __version__

    @property
    def x(self) -> np.ndarray:
        """Final points of modality 0."""
        return self.z[0]

    @property
    def y(self) -> np.ndarray:
        """Final points of modality 1."""
        return self.z[1]

    @property
    def x0(self) -> np.ndarray:
        """Starting points of modality 0."""
        return self.z0[0]

    @property
    def y0(self) -> np.ndarray:
        """Starting points of modality 1."""
        return self.z0[1]

    @property
    def converged(self) -> bool:
        """Shortcut for ``certificate.converged``."""
        return self.certificate.converged

    def summary(self) -> dict[str, Any]:
        """Flat JSON-ready dict: :data:`SUMMARY_KEYS` first, then every other final measure."""
        cert = self.certificate
        out: dict[str, Any] = {
            "grad_norm": cert.grad_norm,
            "converged": cert.converged,
            "steps": cert.steps,
        }
        out = {k: self.measures.get(k, out.get(k)) for k in SUMMARY_KEYS}
        out.update({k: v for k, v in self.measures.items() if k not in out})
        out.update(
            {
                "gtol": cert.gtol,
                "criterion": cert.criterion,
                "solver": cert.solver,
                "kind": cert.kind,
                "lambda_min": cert.lambda_min,
                "position_error": cert.position_error,
                "tau": self.config.tau,
                "n_pairs": self.config.n_pairs,
                "dim": self.config.dim,
            }
        )
        for k, v in self.arrays.items():
            if k == "principal_angles":
                out[k] = v.tolist()
        return {k: jsonable(v) for k, v in out.items()}

    def save(self, path: str | os.PathLike) -> Path:
        """Write ``path.json`` and ``path.npz``; returns the JSON path.

        ``path`` is a stem: ``dir/tau0.1`` writes ``dir/tau0.1.json`` and ``dir/tau0.1.npz``
        (only a trailing ``.json``/``.npz`` is taken off). Each file is written under a hidden
        temporary name and renamed; the npz first, then the JSON, which holds the SHA-256 of the
        arrays, so :meth:`load` detects a pair from two different saves (a kill between the
        renames) instead of mixing them.
        """
        base = _stem(path)
        base.parent.mkdir(parents=True, exist_ok=True)
        arrays = {"z": self.z, "z0": self.z0}
        arrays.update({f"history.{k}": v for k, v in self.history.items()})
        arrays.update({f"arrays.{k}": v for k, v in self.arrays.items()})
        token = _digest(arrays)
        meta = {
            "gapsim_version": self.version,
            "config": self.config.to_dict(),
            "certificate": self.certificate.to_dict(),
            "measures": {k: jsonable(v) for k, v in self.measures.items()},
            "arrays": sorted(arrays),
            "arrays_sha256": token,
        }
        _atomic_write(_sibling(base, ".npz"), lambda fh: np.savez(fh, **arrays))
        return _atomic_write_text(_sibling(base, ".json"), json.dumps(meta, indent=2))

    @classmethod
    def load(cls, path: str | os.PathLike) -> Result:
        """Read a result written by :meth:`save` (give either file or the common stem).

        Raises:
            ConfigError: a file is missing or malformed, or the two files come from
                different saves.
        """
        base = _stem(path)
        jpath, npath = _sibling(base, ".json"), _sibling(base, ".npz")
        try:
            meta = json.loads(jpath.read_text())
            with np.load(npath, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
            if "arrays_sha256" in meta and _digest(arrays) != meta["arrays_sha256"]:
                raise ValueError(f"{jpath.name} and {npath.name} come from different saves")
            measures = {k: (math.nan if v is None else v) for k, v in meta["measures"].items()}
            return cls(
                config=Config.from_dict(meta["config"]),
                z=arrays["z"],
                z0=arrays["z0"],
                history={k[8:]: v for k, v in arrays.items() if k.startswith("history.")},
                arrays={k[7:]: v for k, v in arrays.items() if k.startswith("arrays.")},
                measures=measures,
                certificate=Certificate.from_dict(meta["certificate"]),
                version=meta["gapsim_version"],
            )
        except ConfigError:
            raise
        except Exception as e:  # noqa: BLE001 - any unreadable result is one input error
            raise ConfigError("result", str(base), f"is not a readable gapsim result ({e})") from e


def jsonable(v: Any, digits: int | None = None) -> Any:
    """``v`` made JSON-ready: NumPy scalars and arrays to Python, NaN/inf to ``None``.

    Recurses into dicts (keys become strings), typed results (NamedTuples, written as dicts of
    their fields), lists and tuples. With ``digits``, floats are rounded to that many
    significant digits (small files for figure data).
    """
    if isinstance(v, tuple) and hasattr(v, "_asdict"):
        v = v._asdict()
    if isinstance(v, dict):
        return {str(k): jsonable(w, digits) for k, w in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(w, digits) for w in v]
    if isinstance(v, np.ndarray):
        return jsonable(v.tolist(), digits)
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        if not math.isfinite(v):
            return None
        return float(v) if digits is None else float(f"{v:.{digits}g}")
    return v


def _stem(path: str | os.PathLike) -> Path:
    """``path`` without a trailing ``.json``/``.npz`` (other dots are part of the name)."""
    base = Path(path)
    return base.with_suffix("") if base.suffix in (".json", ".npz") else base


def _digest(arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 over the arrays' names, dtypes, shapes and bytes (sorted by name)."""
    h = hashlib.sha256()
    for k in sorted(arrays):
        a = np.ascontiguousarray(arrays[k])
        h.update(f"{k}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _sibling(base: Path, ext: str) -> Path:
    """``base`` + ``ext`` (appended: ``tau0.1`` -> ``tau0.1.npz``, never ``tau0.npz``)."""
    return base.with_name(base.name + ext)


def _atomic_write(path: Path, write: Any) -> Path:
    """Call ``write(binary file)`` on a hidden temporary file beside ``path``, then rename it.

    The temporary file is removed if ``write`` fails, so no half file is left behind.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would make results private
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def _atomic_write_text(path: Path, text: str) -> Path:
    return _atomic_write(path, lambda fh: fh.write(text.encode()))
