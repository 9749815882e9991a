"""The numbers the tutorial and the README's demo list quote are the tool's (issue 24, item 7).

``docs/gen_numbers.py`` runs every tutorial step at its documented size and writes what the
tool printed into ``docs/numbers.json`` and into the marked spans of the docs. Default tier:
the docs' spans equal ``docs/numbers.json`` (a hand edit of a quoted number fails here), and
the step count is the tutorial's own. Slow tier: the steps, rerun now, still give the recorded
numbers (within the last quoted digit; wall times are not compared).
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("gen_numbers", ROOT / "docs" / "gen_numbers.py")
gen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gen)


def test_docs_quote_the_generated_numbers():
    recorded = json.loads(gen.NUMBERS.read_text())
    assert gen.check(recorded) == []
    keys = {m["key"] for doc in gen.DOCS for m in gen.SPAN.finditer(doc.read_text())}
    assert len(keys) >= 40
    assert keys - {"tutorial.steps", "tutorial.steps_lower"} <= set(recorded)


def test_tutorial_says_how_many_steps_it_has():
    # on main it said "Eight steps" and had nine; numbered from 0 (the page) or 1
    text = (ROOT / "docs" / "tutorial.md").read_text()
    headings = [int(h) for h in re.findall(r"^## (\d+)\.", text, re.M)]
    assert headings
    assert headings[0] in (0, 1)
    assert headings == list(range(headings[0], headings[0] + len(headings)))
    assert text.startswith("# Tutorial")
    assert f"{gen.WORDS[len(headings)].capitalize()}<!-- /gen --> steps" in text


def test_a_hand_edited_number_is_caught(tmp_path, monkeypatch):
    doc = tmp_path / "t.md"
    doc.write_text("gap <!-- gen:a -->1.35<!-- /gen --> then <!-- gen:b -->4.3e-4<!-- /gen -->")
    monkeypatch.setattr(gen, "DOCS", (doc, doc))
    assert gen.check({"a": "1.35", "b": "4.3e-4"}) == []
    problems = gen.check({"a": "1.35", "b": "0.0001"})
    assert len(problems) == 2  # the one doc listed twice
    assert "b is '4.3e-4', generated '0.0001'" in problems[0]
    assert gen.render(doc.read_text(), {"a": "2", "b": "3"}).count("<!-- /gen -->") == 2


def test_close_compares_quoted_digits_and_noise_by_magnitude():
    assert gen.close("gap 1.35 -> 4.3e-4", "gap 1.36 -> 4.31e-4")
    assert not gen.close("gap 1.35", "gap 1.53")
    assert not gen.close("gap 1.35", "gap: 1.35")
    assert gen.close("norm = 1.5e-10", "norm = 9e-10")  # rounding noise: same magnitude
    assert not gen.close("norm = 1.5e-10", "norm = 2e-8")


@pytest.mark.slow  # every tutorial step at its documented size: minutes
@pytest.mark.long  # outside CI's budget: python docs/gen_numbers.py --compare
def test_tutorial_steps_still_give_the_quoted_numbers():
    assert gen.main(["--compare"]) == 0
