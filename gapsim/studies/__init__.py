"""Studies: what checks and experiments share (closed forms, population models, study runs).

A study is the computation behind a check row and a figure (the row judges it, the figure draws
it), so that neither imports the other: :mod:`~gapsim.studies.theory` (closed-form predictions),
:mod:`~gapsim.studies.population` and :mod:`~gapsim.studies.population_coupling` (the
N -> infinity population objectives of Yi et al. 2025), :mod:`~gapsim.studies.yi_subspace`
(certified free-point optima between subspaces, decomposed), :mod:`~gapsim.studies.bridge`
(the finite-N optimum under fixed concentration against the population optimum, issue 22),
:mod:`~gapsim.studies.liang_toy` (Liang et al.'s swapped pair), :mod:`~gapsim.studies.runs`
(memoised runs).

May import: :mod:`gapsim.core` and :mod:`gapsim.app`; never :mod:`gapsim.checks`
(checks judge what studies measure; ``tests/test_layout.py``).
"""
