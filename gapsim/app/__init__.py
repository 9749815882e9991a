"""The application around the core: configurations, runs, results and where they are stored.

:mod:`~gapsim.app.config` (the one validated configuration; its rules in
:mod:`~gapsim.app.config_rules`), :mod:`~gapsim.app.parts` (the one place a config is taken
apart into the core's values), :mod:`~gapsim.app.init` (starts), :mod:`~gapsim.app.simulate`,
:mod:`~gapsim.app.batch` and :mod:`~gapsim.app.sweep` (runs), :mod:`~gapsim.app.result`,
:mod:`~gapsim.app.store` and :mod:`~gapsim.app.runs` (results on disk),
:mod:`~gapsim.app.postrun` (what a run adds after it ends), :mod:`~gapsim.app.scenarios`,
:mod:`~gapsim.app.figures`, :mod:`~gapsim.app.plotting` and :mod:`~gapsim.app.embed`.

May import: :mod:`gapsim.core`, :mod:`gapsim.studies`, :mod:`gapsim.alignment` and each other;
never :mod:`gapsim.checks` or :mod:`gapsim.cli` (``tests/test_layout.py``).
"""
