"""The one frozen, validated configuration of a simulation.

Every field is also a ``gapsim run`` flag (``n_pairs`` -> ``--n-pairs``); its ``help`` metadata is
the flag's help text. Angles are in radians everywhere (the CLI also accepts ``30deg``).
Invalid values raise :class:`gapsim.errors.ConfigError` at construction, naming the field, the
value and the allowed range.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, no_type_check

from gapsim.app.config_rules import (
    INIT_ANGLE_DEFAULTS,
    MAX_SEED,
    MAX_STEPS,
    check_given,
    check_parametrization,
    check_sizes,
    check_types,
    check_unused,
    non_default,
)
from gapsim.app.config_rules import check as _check
from gapsim.app.wiring import lbfgs_refusal
from gapsim.core import ranges as rules
from gapsim.core.temperature import SCHEDULES, TAU_PARAMS

__all__ = ["Config", "SOLVERS", "CONSTRAINTS", "PARAMETRIZATIONS", "check_given"]

SOLVERS = ("lbfgs", "gd", "sgd", "adam")
SWAPS = ("none", "hard", "row", "soft")
ALIGNS = ("none", "shift", "ssp", "rotation", "mean_removal")
CONSTRAINTS = ("none", "cone", "subspace", "concentration")
DTYPES = ("float32", "float64")
PARAMETRIZATIONS = ("projected", "raw")


def _f(default: Any, help: str, **kw: Any) -> Any:  # noqa: A002 - mirrors argparse's name
    return field(default=default, metadata={"help": help, **kw})


@no_type_check  # Config validates its own fields (ConfigError), before any type checker
@dataclass(frozen=True)
class Config:
    """A simulation: points, loss, constraint, start, solver. See ``gapsim run --help``."""

    n_pairs: int = _f(16, "number of pairs N (>= 2)")
    dim: int = _f(3, "ambient dimension d (>= 2); points live on S^(d-1)")
    tau: float = _f(0.1, "temperature tau > 0 (beta = 1/tau)")
    constraint: str = _f("none", "constraint set for both modalities", choices=CONSTRAINTS)
    cone_angle: float | None = _f(
        None,
        "cap half-angle alpha in (0, pi) (radians, or 30deg); required for 'cone', optional "
        "inside a 'subspace'",
    )
    cone_axis: str = _f(
        "learned",
        "cap axis: 'learned' = a parameter on the sphere per modality (exact projection onto "
        "'X fits in some cap'); 'fixed' = e1 for X and cos(a) e1 + sin(a) e2 for Y, "
        "a = --cone-axis-angle. ('free' was removed: not a projection.)",
        choices=("learned", "fixed", "free"),
    )
    cone_axis_angle: float = _f(
        0.0, "with a fixed axis: angle between the modalities' axes (X: e1, Y: cos e1 + sin e2)"
    )
    kappa: float | None = _f(
        None,
        "vMF concentration kappa > 0: with --constraint concentration each modality's mean has "
        "norm rho = A_d(kappa) = I_{d/2}(kappa)/I_{d/2-1}(kappa), its direction free; inside a "
        "--constraint subspace, rho = A_k(kappa) on U's sphere (k = subspace_dim)",
    )
    subspace_dim: int | None = _f(None, "k, dimension of each modality's subspace (default d-1)")
    phi: float | None = _f(
        None,
        "dihedral angle in [0, pi/2] (radians, or 30deg, 0.25pi): principal angles "
        "(0, ..., 0, phi); k=d-1: hyperplanes",
    )
    thetas: tuple[float, ...] | None = _f(
        None,
        "all k principal angles in [0, pi/2] (instead of --phi; radians, or 30deg, 0.25pi), "
        "e.g. 0.3,0.5",
    )
    init: str = _f(
        "uniform",
        "start: uniform, cones (Liang et al.), parallel-mismatched or parallel-matched (Yaras "
        "et al.), or a name registered with gapsim.register_init; --init-file implies 'file'",
    )
    init_angle: float | None = _f(
        None,
        "'cones' start: half-angle of each modality's cone; parallel starts: polar angle of the "
        "two circles (radians; default 0.2 for cones, 1.0 for the parallel starts, Yaras et al.'s "
        "regime where the temperature rises)",
    )
    init_axis_angle: float | None = _f(
        None, "'cones' start: angle between the two cone axes (default: random axes)"
    )
    init_file: str | None = _f(None, "start from points in a .npz (arrays x, y) or .npy (2, n, d)")
    solver: str = _f("lbfgs", "lbfgs = certified optimum; gd/sgd/adam = dynamics", choices=SOLVERS)
    steps: int = _f(2000, "maximum number of steps (iterations for lbfgs)")
    lr: float | None = _f(None, "step size (default: n_pairs*tau^2 for gd/sgd, 1e-2 for adam)")
    momentum: float = _f(0.0, "sgd momentum in [0, 1)")
    stride: int = _f(10, "record the trajectory every STRIDE steps")
    gtol: float | None = _f(
        None, "converged when the Riemannian gradient norm <= gtol (default 1e-9 f64, 1e-5 f32)"
    )
    early_stop: bool = _f(True, "stop as soon as the gradient criterion is met")
    second_order: bool = _f(
        True,
        "second-order certificate of a first-order stationary end point (minimum or saddle; "
        "off for huge runs)",
    )
    seed: int = _f(0, "random seed (the only source of randomness)")
    dtype: str | None = _f(None, "float32 or float64 (default: float64 for lbfgs)", choices=DTYPES)
    # --- mechanisms (docs/theory.md 2.3-5; see gapsim.core.objective and gapsim.core.temperature)
    modalities: int = _f(2, "number of modalities M (>= 2; pairwise InfoNCE, modality 0 = anchor)")
    learn_tau: bool = _f(False, "learnable temperature (starts at --tau)")
    tau_param: str = _f(
        "exp", "learnable beta = exp(nu), softplus(nu), nu, or exp(nu/s)", choices=TAU_PARAMS
    )
    tau_scale: float = _f(1.0, "s of the 'scaled' parametrisation exp(nu/s)")
    tau_lr_mult: float = _f(1.0, "step-size ratio of nu to the points (>= 0)")
    tau_schedule: str = _f(
        "none", "temperature schedule from --tau to --tau-end (custom: API only)", choices=SCHEDULES
    )
    tau_end: float | None = _f(None, "end temperature of a schedule (reached on the last step)")
    tau_period: float | None = _f(None, "period in steps of the cosine schedule (default: steps)")
    gamma_lift: bool = _f(False, "Yaras et al.'s gamma-lift (parallel) model, learnable gamma")
    gamma0: float = _f(0.3, "starting gamma of the gamma-lift, in [0, 1)")
    gamma_lr_mult: float = _f(1.0, "step-size ratio of gamma to the points (>= 0)")
    swap: str = _f("none", "modality swapping inside the loss", choices=SWAPS)
    swap_p: float = _f(0.1, "fraction of steps with swapping, in [0, 1]")
    noisy_fraction: float = _f(
        0.0, "fraction of pairs whose partner is re-drawn every step (exploratory), in [0, 1]"
    )
    classes: int = _f(0, "K latent classes (pair i in class i mod K); partners re-drawn in class")
    class_p: float = _f(1.0, "fraction of steps with within-class partner re-draws, in [0, 1]")
    atp: float = _f(0.0, "weight of Grassucci et al.'s ATP loss (align true pairs), >= 0")
    cu: float = _f(0.0, "weight of Grassucci et al.'s CU loss (centroid uniformity), >= 0")
    align: str = _f(
        "none", "post-hoc alignment of the final points, reported as aligned_*", choices=ALIGNS
    )
    align_lambda: float = _f(1.0, "shift fraction lambda of --align shift (1 closes the gap)")
    block_size: int = _f(
        0, "rows per block for the N x N quantities (O(N*block) memory); 0 = auto (dense to N=4096)"
    )
    # --- parametrisation of the dynamics (issue 16) --------------------------------------------
    parametrization: str = _f(
        "projected",
        "dynamics: 'projected' = Riemannian step + retraction on unit points; 'raw' = free "
        "unnormalised vectors, normalised inside the loss (CLIP/C3-style training; norms drift)",
        choices=PARAMETRIZATIONS,
    )
    modality_lrs: tuple[float, ...] | None = _f(
        None, "dynamics: one step size per modality (instead of --lr for the points), e.g. 0.1,0.05"
    )

    def __post_init__(self) -> None:
        """Validate every field; raise ConfigError on the first bad one."""
        check_types(self)
        _check(self.n_pairs >= 2, "n_pairs", self.n_pairs, "must be an integer >= 2")
        _check(self.dim >= 2, "dim", self.dim, "must be an integer >= 2")
        _check(math.isfinite(self.tau) and self.tau > 0, "tau", self.tau, "must be > 0")
        for name, meta in _META.items():
            value = getattr(self, name)
            if "choices" in meta and value is not None:
                _check(
                    value in meta["choices"],
                    name,
                    value,
                    f"must be one of {', '.join(meta['choices'])}",
                )
        self._check_constraint()
        from gapsim.app.init import INITS

        init = "file" if self.init_file is not None else self.init
        _check(init in INITS, "init", self.init, f"must be one of {', '.join(sorted(INITS))}")
        _check(
            init != "file" or self.init_file is not None,
            "init",
            "file",
            "needs --init-file PATH (.npz with x, y or z, or .npy)",
        )
        if self.init_angle is not None:
            _check(
                0 < self.init_angle < math.pi, "init_angle", self.init_angle, "must lie in (0, pi)"
            )
        if self.init_axis_angle is not None:
            _check(
                0 <= self.init_axis_angle <= math.pi,
                "init_axis_angle",
                self.init_axis_angle,
                "must lie in [0, pi]",
            )
        _check(
            0 <= self.steps <= MAX_STEPS,
            "steps",
            self.steps,
            f"must be an integer in 0..{MAX_STEPS} (0 evaluates the start)",
        )
        _check(self.stride >= 1, "stride", self.stride, "must be an integer >= 1")
        if self.lr is not None:
            _check(math.isfinite(self.lr) and self.lr > 0, "lr", self.lr, "must be > 0")
        _check(0 <= self.momentum < 1, "momentum", self.momentum, "must lie in [0, 1)")
        if self.gtol is not None:
            _check(
                0 < self.gtol < 1,
                "gtol",
                self.gtol,
                "must lie in (0, 1) (a larger tolerance certifies non-stationary points)",
            )
        self._check_mechanisms()
        _check(self.block_size >= 0, "block_size", self.block_size, "must be an integer >= 0")
        _check(
            0 <= self.seed <= MAX_SEED, "seed", self.seed, f"must be an integer in 0..{MAX_SEED}"
        )
        check_parametrization(self)
        check_unused(self, non_default(self))
        check_sizes(self)
        if self.solver == "lbfgs":
            _check(
                self.constraint != "cone" and self.cone_angle is None,
                "solver",
                "lbfgs",
                "a cap has no smooth parametrisation: use --solver gd, sgd or adam",
            )

    def _check_mechanisms(self) -> None:
        m, n = self.modalities, self.n_pairs
        _check(m >= 2, "modalities", m, "must be an integer >= 2")
        if m > 2:
            _check(
                self.constraint in ("none", "concentration") or self.cone_axis == "learned",
                "modalities",
                m,
                "more than 2 modalities need --constraint none, concentration, or cone with a "
                "learned axis",
            )
            _check(
                self.constraint != "subspace",
                "modalities",
                m,
                "more than 2 modalities need --constraint none, cone or concentration",
            )
            _check(self.swap == "none", "swap", self.swap, "swapping needs --modalities 2")
        for name in ("tau_scale",):
            v = getattr(self, name)
            _check(math.isfinite(v) and v > 0, name, v, "must be > 0")
        for name in ("tau_lr_mult", "gamma_lr_mult", "atp", "cu"):
            v = getattr(self, name)
            _check(math.isfinite(v) and v >= 0, name, v, "must be >= 0")
        for name in ("swap_p", "noisy_fraction", "class_p"):
            v = getattr(self, name)
            _check(0 <= v <= 1, name, v, "must lie in [0, 1]")
        _check(0 <= self.gamma0 < 1, "gamma0", self.gamma0, "must lie in [0, 1)")
        if self.learn_tau:
            _check(
                self.tau_schedule == "none",
                "tau_schedule",
                self.tau_schedule,
                "a schedule and --learn-tau exclude each other",
            )
        sched = self.tau_schedule
        if sched in ("linear", "linear_beta", "cosine"):
            _check(
                self.tau_end is not None, "tau_end", None, f"required with --tau-schedule {sched}"
            )
        if self.tau_end is not None:
            _check(
                sched in ("linear", "linear_beta", "cosine"),
                "tau_end",
                self.tau_end,
                "only used with --tau-schedule linear, linear_beta or cosine",
            )
            _check(
                math.isfinite(self.tau_end) and self.tau_end > 0,
                "tau_end",
                self.tau_end,
                "must be > 0",
            )
        if self.tau_period is not None:
            _check(
                sched == "cosine",
                "tau_period",
                self.tau_period,
                "only used with --tau-schedule cosine",
            )
            _check(self.tau_period > 0, "tau_period", self.tau_period, "must be > 0 steps")
        _check(
            self.classes == 0 or 2 <= self.classes <= n,
            "classes",
            self.classes,
            f"must be 0 (none) or in 2..n_pairs={n}",
        )
        if self.solver == "lbfgs":
            flag = lbfgs_refusal(self)
            _check(
                flag is None,
                "solver",
                "lbfgs",
                f"lbfgs optimises a fixed objective; with {flag} use --solver gd, sgd or adam",
            )

    def _check_constraint(self) -> None:
        c, d = self.constraint, self.dim
        rules.no_free_axis(self.cone_axis)
        if c == "concentration":
            _check(
                self.kappa is not None and math.isfinite(self.kappa) and self.kappa > 0,
                "kappa",
                self.kappa,
                "required with --constraint concentration, must be > 0",
            )
        elif self.kappa is not None:
            _check(
                c == "subspace",
                "kappa",
                self.kappa,
                "needs --constraint concentration or subspace",
            )
            _check(math.isfinite(self.kappa) and self.kappa > 0, "kappa", self.kappa, "must be > 0")
            _check(
                self.cone_angle is None,
                "kappa",
                self.kappa,
                "a fixed concentration and a cap (--cone-angle) exclude each other",
            )
        if self.cone_angle is not None:
            _check(
                c in ("cone", "subspace"),
                "cone_angle",
                self.cone_angle,
                "only used with --constraint cone or subspace",
            )
            rules.cap_angle(self.cone_angle, self.effective_dtype)
        elif c == "cone":
            _check(False, "cone_angle", None, "required with --constraint cone")
        _check(
            0 <= self.cone_axis_angle <= math.pi,
            "cone_axis_angle",
            self.cone_axis_angle,
            "must lie in [0, pi]",
        )
        sub = (self.subspace_dim, self.phi, self.thetas)
        if c != "subspace":
            _check(
                sub == (None, None, None),
                "constraint",
                c,
                "--subspace-dim, --phi and --thetas need --constraint subspace",
            )
            return
        _check(
            self.phi is None or self.thetas is None,
            "phi",
            self.phi,
            "give either --phi or --thetas, not both",
        )
        k = self.k
        if self.thetas is not None and self.subspace_dim is None:
            _check(
                1 <= k <= d,
                "thetas",
                self.thetas,
                f"one angle per subspace dimension: at most d={d} angles",
            )
        rules.subspace_dim(k, d)
        if self.phi is not None:
            rules.principal_angle("phi", self.phi)
        if self.thetas is not None:
            _check(len(self.thetas) == k, "thetas", self.thetas, f"must have k={k} angles")
            rules.principal_angles("thetas", self.thetas)
        _check(
            self.phi is not None or self.thetas is not None,
            "phi",
            None,
            "--constraint subspace needs --phi or --thetas",
        )
        rules.subspace_room(d, self.principal_angles)
        if self.cone_angle is not None:
            rules.cap_in_subspace(k)
        if self.kappa is not None:
            rules.concentration_in_subspace(k)

    # --- resolved values -------------------------------------------------------------------
    @property
    def k(self) -> int:
        """Subspace dimension (``dim - 1`` when not given)."""
        if self.subspace_dim is not None:
            return self.subspace_dim
        return len(self.thetas) if self.thetas is not None else self.dim - 1

    @property
    def effective_init_angle(self) -> float:
        """``init_angle``, or the start's default (:data:`INIT_ANGLE_DEFAULTS`)."""
        if self.init_angle is not None:
            return self.init_angle
        return INIT_ANGLE_DEFAULTS.get(self.init, INIT_ANGLE_DEFAULTS["cones"])

    @property
    def n_records(self) -> int:
        """Trajectory records: ``ceil(steps / stride) + 1`` (step 0 included)."""
        return -(-self.steps // self.stride) + 1

    @property
    def memory_estimate(self) -> int:
        """Rough peak bytes of a run, in the working dtype.

        The points and their gradient and optimiser copies (8 x M N d), a few ``(block, N)``
        slabs of logits per modality pair (dense N x N up to N = 4096, else
        :data:`gapsim.core.blocks.SLAB_BYTES` each or ``block_size`` rows), and the trajectory
        buffer (32 numbers per record).
        """
        m, n, d = self.modalities, self.n_pairs, self.dim
        size = 4 if self.effective_dtype == "float32" else 8
        if self.block_size == 0:
            slab = n * n * size if n <= 4096 else 64 * 2**20
        else:
            slab = min(self.block_size, n) * n * size
        pairs = m * (m - 1) // 2
        return size * (8 * m * n * d + 32 * self.n_records) + 4 * pairs * slab

    @property
    def principal_angles(self) -> tuple[float, ...]:
        """The k prescribed principal angles between the two subspaces."""
        if self.thetas is not None:
            return self.thetas
        return (0.0,) * (self.k - 1) + (float(self.phi or 0.0),)

    @property
    def n_noisy(self) -> int:
        """Number of noisy pairs, floor(noisy_fraction * n_pairs) (the first ones)."""
        return int(math.floor(self.noisy_fraction * self.n_pairs))

    @property
    def beta(self) -> float:
        """Inverse temperature 1/tau."""
        return 1.0 / self.tau

    @property
    def effective_dtype(self) -> str:
        """The dtype used: ``dtype``, or float64 for lbfgs and float32 otherwise."""
        return self.dtype or ("float64" if self.solver == "lbfgs" else "float32")

    @property
    def effective_lr(self) -> float:
        """Step size: ``lr``, or ``n_pairs * tau**2`` (gd/sgd), ``1e-2`` (adam), unused (lbfgs).

        ``n_pairs * tau**2`` keeps gradient descent below its stability limit: the Hessian of
        the averaged loss in one point is of order ``beta**2 / n_pairs``.
        """
        if self.lr is not None:
            return self.lr
        return 1e-2 if self.solver == "adam" else self.n_pairs * self.tau**2

    @property
    def effective_gtol(self) -> float:
        """Gradient-norm tolerance: ``gtol``, or 1e-9 (float64) / 1e-5 (float32)."""
        if self.gtol is not None:
            return self.gtol
        return 1e-9 if self.effective_dtype == "float64" else 1e-5

    # --- (de)serialisation -----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of the fields as given (tuples become lists)."""
        return {
            k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Config:
        """Inverse of :meth:`to_dict`; unknown keys raise ConfigError."""
        names = {f.name for f in dataclasses.fields(cls)}
        for key in d:
            _check(key in names, key, d[key], "is not a Config field")
        kw = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}
        return cls(**kw)

    def replace(self, **changes: Any) -> Config:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)


_META = {f.name: f.metadata for f in dataclasses.fields(Config)}
