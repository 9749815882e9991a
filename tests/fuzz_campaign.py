"""The command-line fuzz campaign (issue 24): bad and edge-case invocations of every command.

Each invocation runs as its own ``gapsim`` process, in its own copy of a small arena (paired
embeddings good and bad, existing output files, a results store), with a time limit, and is
classified:

- ``ok``: expected to work, exit status 0 (``check --fail-on``: 0 or 3), JSON where ``--json``;
- ``refused``: expected to be refused, exit status 2 with one line on stderr;
- ``traceback``: a traceback on stderr, or an exit status other than 0, 2, 3;
- ``hang``: still running at the time limit (killed);
- ``replaced``: a file of the arena changed although ``--overwrite`` was not given;
- ``silent accept``: expected to be refused, exit status 0;
- ``false refusal``: expected to work, refused;
- ``messy refusal``: exit status 2 with more than one line on stderr;
- ``lost warning``: a warning the case expects on stderr is not there;
- ``bad output``: exit status 0 but the promised output is missing (a file, or JSON on stdout).

The expectations are the contract of issue 24: every flag validated before work, nothing
replaced without ``--overwrite``, work beyond the stated limits refused unless
``--allow-large``. Usage::

    python tests/fuzz_campaign.py [--jobs 2] [--timeout 300] [--only TEXT] [--json OUT.json]

prints the table (category, count, examples); exit status 1 when any invocation falls in a
category other than ``ok`` and ``refused``. ``tests/test_cli_fuzz.py`` runs it (slow tier)
and a representative subset in process (default tier).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

GOOD = ("ok", "refused")
BASE_ANALYZE = "analyze x.npy y.npy --no-store --quiet"
BASE_SIM = f"{BASE_ANALYZE} --simulate --simulate-n 8 --simulate-steps 5"
BASE_DEMO = "demo closing --n-pairs 6 --steps 60 --frames 4 --dpi 30 --quiet"
BASE_RUN = "run --n-pairs 4 --dim 3 --no-store --quiet"
BASE_SWEEP = "sweep --grid tau=0.1,0.2 --n-pairs 4 --dim 3 --solver gd --steps 20 --quiet"
FAST_CHECK = "check --quick --only yi.subspace.theta1_bound --quiet"
FIG = "figures --quick --only yaras_fig4a --quiet"


@dataclass
class Case:
    """One invocation: ``argv`` (after ``gapsim``), what should happen, what it should leave."""

    argv: list[str]
    expect: str  # "ok" or "bad"
    creates: tuple[str, ...] = ()
    stderr_has: str | None = None
    timeout: float | None = None

    @property
    def text(self) -> str:
        return "gapsim " + shlex.join(self.argv)


@dataclass
class Outcome:
    case: Case
    category: str
    code: int | None
    seconds: float
    last: str = ""
    replaced: list[str] = field(default_factory=list)


def ok(cmd: str, *creates: str, stderr_has: str | None = None, timeout: float | None = None):
    return Case(shlex.split(cmd), "ok", creates, stderr_has, timeout)


def bad(cmd: str, timeout: float | None = None):
    return Case(shlex.split(cmd), "bad", timeout=timeout)


def _valid_num(value: str, kind: str, lo: float, hi: float = float("inf")) -> bool:
    """Whether ``value`` parses as ``kind`` ("int" or "float") within [lo, hi] (finite)."""
    try:
        v = int(value) if kind == "int" else float(value)
    except ValueError:
        return False
    return bool(np.isfinite(v)) and lo <= v <= hi


VALUES = ("-1", "0", "1", "2", "0.5", "nan", "inf", "abc", "1e12", "100000")


def value_cases(base: str, flag: str, kind: str, lo: float, hi: float = float("inf"), **kw):
    """``base FLAG V`` for every hostile value V; expected ok iff V is a ``kind`` in [lo, hi]."""
    out = []
    for v in VALUES:
        expect = "ok" if _valid_num(v, kind, lo, hi) else "bad"
        out.append(Case([*shlex.split(base), flag, v], expect, **kw))
    return out


def cases() -> list[Case]:
    """The campaign (module docstring), command by command."""
    c: list[Case] = []
    # --- top level
    c += [ok("--version"), ok("--help"), bad(""), bad("bogus"), ok("run --help")]
    c += [ok(f"{cmd} --help") for cmd in ("sweep", "check", "figures", "demo", "report")]
    c += [ok("analyze --help"), ok("embed --help")]
    # --- analyze: inputs
    c += [
        ok(BASE_ANALYZE, stderr_has="not unit"),
        ok(f"{BASE_ANALYZE} --json", stderr_has="not unit"),
        ok("analyze xu.npy yu.npy --no-store --json"),
        ok("analyze both.npy --no-store"),
        ok("analyze pair.npz --no-store"),
        ok("analyze multi.npz --x-key a --y-key b --no-store"),
        ok("analyze f16x.npy f16y.npy --no-store"),
        ok("analyze xu.npy dupy.npy --no-store --json"),
        ok("analyze samex.npy yu.npy --no-store --json"),
        ok(f"{BASE_ANALYZE} --figure fig.png", "fig.png"),
        ok(f"{BASE_ANALYZE} --figure sub/fig.png --json", "sub/fig.png"),
        ok(f"{BASE_ANALYZE} --figure old.png --overwrite", "old.png"),
        ok("analyze x.npy y.npy --store newstore --quiet", "newstore"),
        ok(f"{BASE_ANALYZE} --ssp-k all"),
        ok(f"{BASE_ANALYZE} --eval-sample all --curve-sample all --uniformity-sample all"),
        ok(f"{BASE_ANALYZE} --eval-sample 32 --curve-sample 32 --uniformity-sample 32"),
        ok(f"{BASE_ANALYZE} --taus 0.05 0.1 --tau 0.05"),
        ok(f"{BASE_SIM} --simulate-solver gd"),
        ok(f"{BASE_SIM} --simulate-tau 0.1 --json"),
        bad("analyze"),
        bad("analyze x.npy"),
        bad("analyze empty.npy y.npy"),
        bad("analyze zerolen.npy y.npy"),
        bad("analyze oned.npy y.npy"),
        bad("analyze nan.npy y.npy"),
        bad("analyze int.npy y.npy"),
        bad("analyze zerorow.npy y.npy"),
        bad("analyze short.npy y.npy"),
        bad("analyze wide.npy y.npy"),
        bad("analyze missing.npy y.npy"),
        bad("analyze text.txt y.npy"),
        bad("analyze both.npy y.npy"),
        bad("analyze multi.npz"),
        bad("analyze multi.npz --x-key nope --y-key b"),
        bad("analyze adir y.npy"),
        bad("analyze trunc.npz"),
        bad(f"{BASE_ANALYZE} --bogus"),
        # outputs
        bad(f"{BASE_ANALYZE} --figure out.txt"),
        bad(f"{BASE_ANALYZE} --figure ."),
        bad(f"{BASE_ANALYZE} --figure adir"),
        bad(f"{BASE_ANALYZE} --figure ''"),
        bad(f"{BASE_ANALYZE} --figure afile/f.png"),
        bad(f"{BASE_ANALYZE} --figure /proc/nope/f.png"),
        bad(f"{BASE_ANALYZE} --figure old.png"),
        bad("analyze x.npy y.npy --store afile --quiet"),
        bad("analyze x.npy y.npy --store /proc/nope --quiet"),
        bad(f"{BASE_ANALYZE} --store s2"),
        # flags that need --simulate
        bad(f"{BASE_ANALYZE} --simulate-n 8"),
        bad(f"{BASE_ANALYZE} --simulate-steps 8"),
        bad(f"{BASE_ANALYZE} --simulate-tau 0.1"),
        bad(f"{BASE_ANALYZE} --simulate-solver gd"),
        bad(f"{BASE_ANALYZE} --simulate --simulate-n 100000"),
        bad(f"{BASE_ANALYZE} --simulate --simulate-n 64 --simulate-steps 100000000"),
        bad(f"{BASE_ANALYZE} --ssp-k 9"),
        bad(f"{BASE_ANALYZE} --taus"),
        bad(f"{BASE_ANALYZE} --x-key a"),
    ]
    c += value_cases(BASE_ANALYZE, "--tau", "float", 1e-300)
    c += value_cases(BASE_ANALYZE, "--taus", "float", 1e-300)
    c += value_cases(BASE_ANALYZE, "--seed", "int", 0, 2**32 - 1)
    c += value_cases(BASE_ANALYZE, "--uniformity-sample", "int", 2)
    c += value_cases(BASE_ANALYZE, "--eval-sample", "int", 2)
    c += value_cases(BASE_ANALYZE, "--curve-sample", "int", 2)
    c += value_cases(BASE_ANALYZE, "--ssp-k", "int", 1, 8)
    c += value_cases(BASE_ANALYZE, "--c3-sigma", "float", 0)
    c += value_cases(BASE_ANALYZE, "--block", "int", 1)
    c += value_cases(f"{BASE_ANALYZE} --simulate --simulate-steps 5", "--simulate-n", "int", 2, 64)
    c += value_cases(f"{BASE_ANALYZE} --simulate --simulate-n 8", "--simulate-steps", "int", 0, 1e5)
    c += value_cases(BASE_SIM, "--simulate-tau", "float", 1e-300)
    # --- run
    c += [
        ok(BASE_RUN),
        ok(f"{BASE_RUN} --json"),
        ok("run --n-pairs 4 --dim 3 --store s1 --quiet", "s1"),
        ok(f"{BASE_RUN} --out r1", "r1.json", "r1.npz"),
        ok(f"{BASE_RUN} --out sub/r1", "sub/r1.json"),
        ok(f"{BASE_RUN} --out res --overwrite", "res.json"),
        ok(f"{BASE_RUN} --init-file start.npz"),
        ok(f"{BASE_RUN} --config cfg.json"),
        bad(f"{BASE_RUN} --out ''"),
        bad(f"{BASE_RUN} --out res"),
        bad(f"{BASE_RUN} --out adir/"),
        bad(f"{BASE_RUN} --out afile/x"),
        bad(f"{BASE_RUN} --out /proc/nope/x"),
        bad("run --n-pairs 4 --dim 3 --no-store --store s2 --quiet"),
        bad("run --n-pairs 4 --dim 3 --store afile --quiet"),
        bad("run --n-pairs 4 --dim 3 --store '' --quiet"),
        bad("run --n-pairs 100000 --dim 3 --solver gd --no-store --quiet"),
        bad("run --n-pairs 20000 --dim 3 --solver gd --steps 2000 --no-store --quiet"),
        bad("run --n-pairs 64 --dim 3 --solver gd --steps 200000000 --stride 1000 --no-store"),
        bad(f"{BASE_RUN} --init-file missing.npz"),
        bad(f"{BASE_RUN} --init-file int.npy"),
        bad(f"{BASE_RUN} --init-file empty.npy"),
        bad(f"{BASE_RUN} --config missing.json"),
        bad(f"{BASE_RUN} --config afile"),
        bad(f"{BASE_RUN} --swap-p 0.2"),
        bad(f"{BASE_RUN} --solver newton"),
        bad(f"{BASE_RUN} --thetas a,b"),
        bad(f"{BASE_RUN} --bogus"),
    ]
    c += value_cases("run --dim 3 --no-store --quiet --steps 10", "--n-pairs", "int", 2, 4096)
    c += value_cases(BASE_RUN, "--tau", "float", 1e-300)
    c += value_cases(BASE_RUN, "--seed", "int", 0, 2**32 - 1)
    c += value_cases(f"{BASE_RUN} --solver gd", "--steps", "int", 0, 1e5)
    # --- sweep
    c += [
        ok(f"{BASE_SWEEP} --no-store"),
        ok(f"{BASE_SWEEP} --no-store --json"),
        ok(f"{BASE_SWEEP} --out sw1", "sw1/sweep.csv"),
        ok(f"{BASE_SWEEP} --out store/sw", "store/sw/sweep.csv"),
        ok(f"{BASE_SWEEP} --out store/sw --overwrite --grid tau=0.3"),
        bad(f"{BASE_SWEEP} --out store/sw --grid tau=0.3"),
        bad(f"{BASE_SWEEP} --no-store --grid seed=0:100000000"),
        bad(f"{BASE_SWEEP} --no-store --grid seed=0:100000"),
        bad(f"{BASE_SWEEP} --no-store --grid seed=0:1000 --grid phi=0.1,0.2 --grid lr=1,2"),
        bad(f"{BASE_SWEEP} --no-store --n-pairs 20000 --steps 2000"),
        bad(f"{BASE_SWEEP} --no-store --grid bogus=1"),
        bad(f"{BASE_SWEEP} --no-store --grid tau=abc"),
        bad(f"{BASE_SWEEP} --no-store --grid tau"),
        bad(f"{BASE_SWEEP} --no-store --grid seed=3:1"),
        bad(f"{BASE_SWEEP} --no-store --grid seed=0:a"),
        bad(f"{BASE_SWEEP} --no-store --grid tau=0,0.1"),
        bad(f"{BASE_SWEEP} --no-store --process-id 1"),
        bad(f"{BASE_SWEEP} --no-store --coordinator localhost:1"),
        bad(f"{BASE_SWEEP} --no-store --num-processes 2"),
        bad(f"{BASE_SWEEP} --out s3 --distributed --num-processes 0"),
        bad(f"{BASE_SWEEP} --out s3 --distributed --num-processes 2 --process-id 5"),
        bad(f"{BASE_SWEEP} --out s3 --distributed --num-processes 2 --process-id -1"),
        bad(f"{BASE_SWEEP} --out s3 --distributed --num-processes 2 --process-id 0"),
        bad(f"{BASE_SWEEP} --distributed --no-store"),
        bad(f"{BASE_SWEEP} --out afile"),
        bad(f"{BASE_SWEEP} --out /proc/nope"),
        bad(f"{BASE_SWEEP} --out ''"),
        bad(f"{BASE_SWEEP} --out store/run1"),
        bad(f"{BASE_SWEEP} --no-store --store s4"),
        bad(f"{BASE_SWEEP} --store afile"),
        bad(f"{BASE_SWEEP} --no-store --plot bogus"),
        bad(f"{BASE_SWEEP} --no-store --plot tau --plot-y bogus --out s5"),
        ok(f"{BASE_SWEEP} --out s6 --plot tau", "s6/sweep.csv", "s6/plot-tau.png"),
    ]
    c += value_cases(f"{BASE_SWEEP} --no-store", "--chunk", "int", 1, 1e5)
    c += value_cases(f"{BASE_SWEEP} --no-store", "--host-devices", "int", 1, 64)
    # --- report
    c += [
        ok("report store"),
        ok("report store --json"),
        ok("report store/sw"),
        ok("report store/nested"),
        ok("report store --csv new.csv", "new.csv"),
        ok("report store --csv sub/new.csv", "sub/new.csv"),
        ok("report store --csv old.csv --overwrite", "old.csv"),
        ok("report store --sort loss"),
        ok("report store --sort centroid_distance --json"),
        ok("report badstore"),
        ok("report ."),
        ok("report store/sw --plot tau --plot-out p.png", "p.png"),
        bad("report"),
        bad("report missing_dir"),
        bad("report afile"),
        bad("report emptydir"),
        bad("report store --sort bogus"),
        bad("report store --csv old.csv"),
        bad("report store --csv adir"),
        bad("report store --csv afile/x.csv"),
        bad("report store --csv /proc/nope/x.csv"),
        bad("report store --csv ''"),
        bad("report store --plot bogus"),
        bad("report store/sw --plot tau --plot-out old.png"),
        bad("report store/sw --plot tau --plot-out out.txt"),
        bad("report store --bogus"),
    ]
    # --- check
    c += [
        ok("check --list"),
        ok("check --only theta1 --list"),
        ok(FAST_CHECK),
        ok(f"{FAST_CHECK} --json"),
        ok(f"{FAST_CHECK} --report new.md", "new.md", "new.json"),
        ok(f"{FAST_CHECK} --report sub/new.md", "sub/new.md", "sub/new.json"),
        ok(f"{FAST_CHECK} --report old.md --overwrite", "old.md"),
        ok(f"{FAST_CHECK} --fail-on disagrees"),
        bad("check --only nomatch"),
        bad("check --only nomatch --list"),
        bad(f"{FAST_CHECK} --report old.md"),
        bad(f"{FAST_CHECK} --report jsonexists.md"),
        bad(f"{FAST_CHECK} --report adir"),
        bad(f"{FAST_CHECK} --report /proc/nope/r.md"),
        bad(f"{FAST_CHECK} --report afile/r.md"),
        bad(f"{FAST_CHECK} --report ''"),
        bad(f"{FAST_CHECK} --report r.json"),
        bad(f"{FAST_CHECK} --fail-on bogus"),
        bad(f"{FAST_CHECK} --bogus"),
    ]
    # --- figures
    c += [
        ok("figures --list"),
        ok(f"{FIG} --out fnew", "fnew/yaras_fig4a.png", "fnew/yaras_fig4a.json"),
        ok(f"{FIG} --out figs --overwrite", "figs/yaras_fig4a.png"),
        ok("figures --only clip_init_free_points --out fnew2 --quiet"),
        bad("figures --only bogus"),
        bad("figures --only bogus --list"),
        bad(f"{FIG} --out afile"),
        bad(f"{FIG} --out /proc/nope"),
        bad(f"{FIG} --out figs"),
        bad(f"{FIG} --out ''"),
        bad("figures --bogus"),
    ]
    # --- demo
    c += [
        ok("demo --list"),
        ok(f"{BASE_DEMO} --out d.gif", "d.gif"),
        ok(f"{BASE_DEMO} --out sub/d.gif", "sub/d.gif"),
        ok(f"{BASE_DEMO} --out old.gif --overwrite", "old.gif"),
        ok("demo hyperplanes --n-pairs 6 --steps 60 --frames 4 --dpi 30 --phi 30deg --out h.gif"),
        bad("demo"),
        bad("demo bogus"),
        bad(f"{BASE_DEMO} --out x.png"),
        bad(f"{BASE_DEMO} --out noext"),
        bad(f"{BASE_DEMO} --out old.gif"),
        bad(f"{BASE_DEMO} --out adir"),
        bad(f"{BASE_DEMO} --out /proc/nope/x.gif"),
        bad(f"{BASE_DEMO} --out afile/x.gif"),
        bad(f"{BASE_DEMO} --out ''"),
        bad(f"{BASE_DEMO} --out d.gif --phi 0.3"),
        bad(f"{BASE_DEMO} --out d.gif --frames 48 --steps 10"),
        bad("demo yaras --swap-p 2 --out y.gif"),
        bad("demo cone --cone-angle 0 --out c.gif"),
        bad("demo cone --cone-angle 4 --out c.gif"),
        bad("demo closing --n-pairs 100000 --out big.gif"),
        bad("demo closing --frames 1000 --dpi 600 --out many.gif"),
    ]
    c += value_cases(f"{BASE_DEMO} --out v.gif", "--dpi", "int", 20, 600)
    c += value_cases(f"{BASE_DEMO} --out v.gif", "--n-pairs", "int", 2, 200)
    c += value_cases(f"{BASE_DEMO} --out v.gif", "--seed", "int", 0, 2**32 - 1)
    c += value_cases(f"{BASE_DEMO} --out v.gif", "--tau", "float", 1e-300)
    c += value_cases(
        "demo closing --n-pairs 6 --steps 60 --dpi 30 --out v.gif", "--frames", "int", 2, 61
    )
    # --- embed (the clip extra is not installed here: refused with the reason)
    c += [
        bad("embed"),
        bad("embed --images adir --captions cap.txt --out e.npz"),
        bad("embed --images missing --captions cap.txt --out e.npz"),
        bad("embed --images adir --captions cap.txt --out old.npz"),
        bad("embed --images adir --captions cap.txt --out e.npz --batch-size 0"),
    ]
    return c


def build_arena(root: Path) -> None:
    """The files every case starts from (a fresh copy each): inputs, old outputs, a store."""
    rng = np.random.default_rng(0)
    n, d = 64, 8
    x = rng.normal(size=(n, d)) + 1.0
    y = x + rng.normal(size=(n, d))

    def unit(z):
        return z / np.linalg.norm(z, axis=-1, keepdims=True)

    np.save(root / "x.npy", x)
    np.save(root / "y.npy", y)
    np.save(root / "xu.npy", unit(x).astype(np.float32))
    np.save(root / "yu.npy", unit(y).astype(np.float32))
    np.save(root / "both.npy", np.stack([unit(x), unit(y)]))
    np.savez(root / "pair.npz", x=x, y=y)
    np.savez(root / "multi.npz", a=x, b=y, c=x)
    np.save(root / "f16x.npy", unit(x).astype(np.float16))
    np.save(root / "f16y.npy", unit(y).astype(np.float16))
    np.save(root / "dupy.npy", unit(np.repeat(rng.normal(size=(8, d)), 8, axis=0)).astype("f4"))
    np.save(root / "samex.npy", np.repeat(unit(x[:1]), n, axis=0).astype(np.float32))
    (root / "empty.npy").write_bytes(b"")
    np.save(root / "zerolen.npy", np.zeros((0, d)))
    np.save(root / "oned.npy", x[0])
    nan = x.copy()
    nan[5, 2] = np.nan
    np.save(root / "nan.npy", nan)
    np.save(root / "int.npy", (10 * x).astype(int))
    zr = x.copy()
    zr[3] = 0
    np.save(root / "zerorow.npy", zr)
    np.save(root / "short.npy", x[:32])
    np.save(root / "wide.npy", np.hstack([x, x[:, :1]]))
    (root / "text.txt").write_text("not an array\n")
    np.savez(root / "trunc.npz", x=x, y=y)
    (root / "trunc.npz").write_bytes((root / "trunc.npz").read_bytes()[:60])
    z = unit(rng.normal(size=(2, 4, 3)))
    np.savez(root / "start.npz", x=z[0], y=z[1])
    (root / "cfg.json").write_text(json.dumps({"n_pairs": 4, "dim": 3, "tau": 0.2}))
    (root / "cap.txt").write_text("a\nb\n")
    for name in ("old.md", "old.json", "old.csv", "old.txt", "jsonexists.json", "old.npz"):
        (root / name).write_text(f"precious {name}\n")
    (root / "old.png").write_bytes(b"\x89PNG precious")
    (root / "old.gif").write_bytes(b"GIF89a precious")
    (root / "afile").write_text("a plain file\n")
    (root / "adir").mkdir()
    (root / "adir" / "keep.txt").write_text("keep\n")
    (root / "emptydir").mkdir()
    (root / "figs").mkdir()
    (root / "figs" / "yaras_fig4a.png").write_bytes(b"\x89PNG precious")
    (root / "figs" / "yaras_fig4a.json").write_text("{}")
    gapsim = [sys.executable, "-m", "gapsim.cli"]
    quiet = {"cwd": root, "check": True, "capture_output": True}
    # seed 1: not what `BASE_RUN --out res` writes, so a replacement changes the bytes
    subprocess.run([*gapsim, *shlex.split(BASE_RUN), "--out", "res", "--seed", "1"], **quiet)
    subprocess.run([*gapsim, *shlex.split(BASE_SWEEP), "--out", "store/sw"], **quiet)
    subprocess.run([*gapsim, *shlex.split(BASE_SWEEP), "--out", "store/nested/sw2"], **quiet)
    run = [*gapsim, "run", "--n-pairs", "4", "--dim", "3", "--store", "store", "--quiet"]
    subprocess.run(run, **quiet)
    (next((root / "store").glob("run-*"))).rename(root / "store" / "run1")
    shutil.copytree(root / "store" / "run1", root / "badstore" / "run2")
    (root / "badstore" / "run2" / "metrics.json").write_text("{not json")


def _digest(root: Path) -> dict[str, str]:
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file():
            out[p.relative_to(root).as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def run_case(case: Case, template: Path, before: dict[str, str], timeout: float) -> Outcome:
    """Run ``case`` in a fresh copy of ``template``; classify (module docstring)."""
    with tempfile.TemporaryDirectory(prefix="gapsim-fuzz-") as tmp:
        root = Path(tmp) / "arena"
        shutil.copytree(template, root)
        argv = [sys.executable, "-m", "gapsim.cli", *case.argv]
        t0 = time.perf_counter()
        p = subprocess.Popen(
            argv, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            start_new_session=True,
        )  # fmt: skip
        try:
            out, err = p.communicate(timeout=case.timeout or timeout)
            code = p.returncode
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate()
            return Outcome(case, "hang", None, time.perf_counter() - t0, "(killed)")
        seconds = time.perf_counter() - t0
        after = _digest(root)
        replaced = []
        if "--overwrite" not in case.argv:
            replaced = [k for k, h in before.items() if after.get(k, h) != h]
        last = (err.strip().splitlines() or [""])[-1][:160]
        if "Traceback" in err or code not in (0, 2, 3):
            cat = "traceback"
        elif replaced:
            cat = "replaced"
        elif case.expect == "bad":
            if code == 0:
                cat = "silent accept"
            elif code == 2:
                cat = "refused" if err.count("\n") == 1 else "messy refusal"
            else:
                cat = "silent accept" if code == 3 else "traceback"
        elif code == 2:
            cat = "false refusal"
        elif code == 3 and "--fail-on" not in case.argv:
            cat = "false refusal"
        else:
            cat = "ok"
            missing = [f for f in case.creates if not (root / f).exists()]
            if missing:
                cat, last = "bad output", f"missing {missing}"
            elif "--json" in case.argv and code == 0:
                try:
                    json.loads(out)
                except ValueError:
                    cat, last = "bad output", "stdout is not one JSON document"
            if cat == "ok" and case.stderr_has and case.stderr_has not in err:
                cat, last = "lost warning", f"no {case.stderr_has!r} on stderr"
        return Outcome(case, cat, code, seconds, last, replaced)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--timeout", type=float, default=300.0, help="seconds before a case is a hang")
    p.add_argument("--only", help="run the cases whose command line contains this text")
    p.add_argument("--select", help="run the cases whose command lines a file lists, one a line")
    p.add_argument("--json", help="write every outcome to this file")
    a = p.parse_args(argv)
    todo = [c for c in cases() if a.only is None or a.only in c.text]
    if a.select:
        wanted = set(Path(a.select).read_text().splitlines())
        todo = [c for c in todo if c.text in wanted]
    with tempfile.TemporaryDirectory(prefix="gapsim-fuzz-arena-") as tmp:
        template = Path(tmp)
        build_arena(template)
        before = _digest(template)
        t0 = time.perf_counter()
        done = []

        def one(c: Case) -> Outcome:
            o = run_case(c, template, before, a.timeout)
            done.append(o)
            if len(done) % 20 == 0 or o.category not in GOOD:
                print(f"[{len(done)}/{len(todo)}] {o.category}: {c.text}", file=sys.stderr)
            return o

        with ThreadPoolExecutor(a.jobs) as pool:
            outcomes = list(pool.map(one, todo))
    wall = time.perf_counter() - t0
    counts = Counter(o.category for o in outcomes)
    print(f"{len(outcomes)} invocations in {wall:.0f} s ({a.jobs} at a time)")
    print(f"{'category':<15} {'count':>5}  examples")
    for cat, n in counts.most_common():
        ex = [o for o in outcomes if o.category == cat][:3]
        first = True
        for o in ex:
            head = f"{cat:<15} {n:>5}" if first else " " * 21
            print(f"{head}  {o.case.text}  [{o.code}] {o.last}")
            first = False
    if a.json:
        rows = [
            {
                "argv": o.case.argv, "expect": o.case.expect, "category": o.category,
                "code": o.code, "seconds": round(o.seconds, 2), "last": o.last,
                "replaced": o.replaced,
            }
            for o in outcomes
        ]  # fmt: skip
        Path(a.json).write_text(json.dumps(rows, indent=1))
    return 0 if set(counts) <= set(GOOD) else 1


if __name__ == "__main__":
    sys.exit(main())
