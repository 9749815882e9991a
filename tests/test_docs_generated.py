"""The docs' numbers are the reports' numbers, the reports are their JSON, and links resolve.

`python -m gapsim.checks.docs` rewrites the generated blocks of README.md, reports/README.md,
docs/theory.md and docs/population.md from reports/*.json; these tests fail when a document
and the committed reports disagree (run the script after a re-run of the checks), when a
report's text disagrees with its own rows, or when a relative link in the docs or the reports
points at nothing.
"""

import json
import re
from pathlib import Path

import pytest

from gapsim.checks import docs
from gapsim.checks.base import AGREES, DISAGREES, CheckResult
from gapsim.checks.report import results_from_json, verdict_counts, write_report

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


@pytest.mark.parametrize("rel", docs.FILES)
def test_docs_equal_what_the_script_generates_from_the_reports(rel):
    text = (ROOT / rel).read_text()
    assert docs.BLOCK.search(text), f"{rel} has no generated block"
    assert docs.rewrite(text, docs.load_reports(ROOT)) == text, (
        f"{rel} is stale: run python -m gapsim.checks.docs"
    )


def test_every_registered_check_has_a_generated_status_in_theory():
    from gapsim.checks import select

    text = (ROOT / "docs" / "theory.md").read_text()
    names = {m["name"] for m in docs.BLOCK.finditer(text)}
    missing = {f"status:{c.id}" for c in select(None)} - names
    assert not missing, sorted(missing)


def _links(path: Path):
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)  # code blocks hold no links
    for m in LINK.finditer(text):
        target = m.group(1)
        if re.match(r"^[a-z]+:", target) or target.startswith("#"):
            continue  # a URL or an anchor in the same page
        yield target


def _documents():
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))] + sorted(
        (ROOT / "reports").glob("*.md")
    )


def test_every_relative_link_in_docs_and_reports_resolves():
    broken = [
        (str(p.relative_to(ROOT)), t)
        for p in _documents()
        for t in _links(p)
        if not (p.parent / t.split("#")[0]).exists()
    ]
    assert not broken, broken


@pytest.mark.parametrize("tier", ["quick", "full"])
def test_each_report_states_the_counts_of_its_own_rows(tier):
    md, js = ROOT / "reports" / f"checks_{tier}.md", ROOT / "reports" / f"checks_{tier}.json"
    if not js.exists():
        pytest.skip(f"no {tier} report")
    rows = results_from_json(js)
    counts = ", ".join(f"{k} {n}" for k, n in verdict_counts(rows).items() if n)
    assert f"{len(rows)} checks: {counts}." in md.read_text()
    assert f"[`{js.name}`]({js.name})" in md.read_text()


def _row(cid, verdict, t=1.0):
    return CheckResult(cid, "p", "c", verdict, 0.0, 0.0, 1.0, "why", {}, t, "q", "1", "r")


def test_rewrite_replaces_blocks_and_keeps_markers(tmp_path):
    (tmp_path / "reports").mkdir()
    rows = {"a.b": _row("a.b", AGREES)._asdict(), "a.c": _row("a.c", DISAGREES, 2.0)._asdict()}
    (tmp_path / "reports" / "checks_quick.json").write_text(json.dumps(rows))
    reports = docs.load_reports(tmp_path)
    text = "x <!-- gen:counts:quick -->old<!-- /gen:counts:quick --> y"
    out = docs.rewrite(text, reports)
    assert out == (
        "x <!-- gen:counts:quick -->2 checks: 1 agree, 1 disagree, 0 inconclusive "
        "(3 s of checks)<!-- /gen:counts:quick --> y"
    )
    assert docs.rewrite(out, reports) == out  # idempotent
    # a tier without a report, a check not in it, a placeholder left to its owner
    assert "no full report" in docs.rewrite(
        "<!-- gen:counts:full --><!-- /gen:counts:full -->", reports
    )
    status = docs.rewrite("<!-- gen:status:a.z --><!-- /gen:status:a.z -->", reports)
    assert "quick: not in the report" in status
    keep = "<!-- gen:bridge -->\nmine\n<!-- /gen:bridge -->"
    assert docs.rewrite(keep, reports) == keep
    with pytest.raises(KeyError, match="no generator"):
        docs.rewrite("<!-- gen:nope --><!-- /gen:nope -->", reports)


def test_docs_script_check_mode(tmp_path, capsys):
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "checks_quick.json").write_text(json.dumps({}))
    readme = tmp_path / "README.md"
    readme.write_text("<!-- gen:counts:quick -->stale<!-- /gen:counts:quick -->")
    assert docs.main(["--check", "--root", str(tmp_path)]) == 1
    assert "stale" in readme.read_text()  # --check changes nothing
    assert docs.main(["--root", str(tmp_path)]) == 0
    assert docs.main(["--check", "--root", str(tmp_path)]) == 0
    assert "0 checks" in readme.read_text()
    capsys.readouterr()


def test_merged_report_keeps_other_rows_and_counts_them(tmp_path):
    from gapsim.checks import select

    ids = [c.id for c in select(None)][:3]
    path = tmp_path / "checks_full.md"
    write_report(str(path), [_row(ids[0], AGREES), _row(ids[1], DISAGREES)], False, 5.0)
    write_report(str(path), [_row(ids[1], AGREES), _row(ids[2], AGREES)], False, 1.0, merge=True)
    rows = {r.id: r.verdict for r in results_from_json(path.with_suffix(".json"))}
    assert rows == {ids[0]: AGREES, ids[1]: AGREES, ids[2]: AGREES}
    text = path.read_text()
    assert "3 checks: agrees 3." in text
    assert "merged by group" in text
