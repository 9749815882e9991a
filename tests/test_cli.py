"""The command line's conventions (gapsim.cli): fast help, exit codes, one JSON document, --list."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from gapsim.cli import COMMANDS, main

ROOT = Path(__file__).resolve().parents[1]


def test_help_does_not_import_jax():
    code = (
        "import sys\nfrom gapsim.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit as e:\n    assert e.code == 0\n"
        "print(sorted(m for m in ('jax', 'numpy', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "[]"
    for name in COMMANDS:
        assert f"    {name} " in out.stdout


def test_python_dash_m_runs_the_cli():
    out = subprocess.run(
        [sys.executable, "-m", "gapsim.cli", "--version"], capture_output=True, text=True, cwd=ROOT
    )
    assert out.returncode == 0
    assert out.stdout.startswith("gapsim ")


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    return names


def test_library_never_imports_the_cli():
    pkg = ROOT / "gapsim"
    offenders = [
        (p.relative_to(ROOT).as_posix(), name)
        for p in pkg.rglob("*.py")
        if pkg / "cli" not in p.parents
        for name in _imports(p)
        if name == "gapsim.cli" or name.startswith("gapsim.cli.")
    ]
    assert offenders == []


def test_every_command_has_full_help_without_sphinx_markup(capsys):
    for name in COMMANDS:
        with pytest.raises(SystemExit) as e:
            main([name, "--help"])
        assert e.value.code == 0
        text = capsys.readouterr().out
        assert text.startswith(f"usage: gapsim {name}")
        assert not [m for m in ("``", ":mod:", ":func:", ":class:") if m in text], name


@pytest.mark.parametrize("command", ["check", "figures", "demo"])
def test_list_wherever_there_is_a_registry(command, capsys):
    assert main([command, "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) >= 5
    assert all(line.split() for line in lines)


@pytest.mark.parametrize(
    "argv",
    [
        ["check", "--only", "no.such.check"],
        ["check", "--only", "no.such.check", "--list"],
        ["figures", "--only", "bogus", "--quick"],
        ["demo", "bogus"],
        ["run", "--tau", "-1"],
        ["report", "/nonexistent/folder"],
        ["check", "--fail-on", "agrees"],
        ["nosuchcommand"],
    ],
)
def test_bad_input_is_one_line_exit_2(argv, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    try:
        code = main(argv)
    except SystemExit as e:  # argparse refusals
        code = e.code
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("gapsim: error: ")
    assert err.count("\n") == 1


def _tau_twice(x, y, beta, block_size=0):
    """A planted fault: the temperature applied twice."""
    from gapsim.core.loss import infonce

    return infonce(x, y, beta * beta)


def test_check_fail_on_exits_3_only_when_a_planted_fault_moves_the_verdict(monkeypatch, capsys):
    import jax

    import gapsim.alignment.shift as shift_mod
    from gapsim.checks.base import clear_caches

    cid = "liang.toy_swapped_pair"
    argv = ["check", "--quick", "--only", cid, "--quiet", "--json"]
    assert main([*argv, "--fail-on", "inconclusive"]) == 0  # the true loss: agrees
    assert json.loads(capsys.readouterr().out)[0]["verdict"] == "agrees"
    monkeypatch.setattr(shift_mod, "infonce", _tau_twice)
    clear_caches()
    jax.clear_caches()
    assert main(argv) == 0  # a disagreement is a finding, not a failure of the command
    assert json.loads(capsys.readouterr().out)[0]["verdict"] == "disagrees"
    assert main([*argv, "--fail-on", "disagrees"]) == 3
    assert main([*argv, "--fail-on", "inconclusive"]) == 3
    err = capsys.readouterr().err
    assert f"--fail-on disagrees: {cid} disagrees" in err
    monkeypatch.undo()
    clear_caches()
    jax.clear_caches()
