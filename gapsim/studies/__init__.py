"""Studies: what checks and experiments share (closed forms, population models, study runs).

:mod:`~gapsim.studies.theory` (closed-form predictions), :mod:`~gapsim.studies.population`
(the N -> infinity population objectives of Yi et al. 2025).

May import: :mod:`gapsim.core` and :mod:`gapsim.app`; never :mod:`gapsim.checks`
(checks judge what studies measure; ``tests/test_layout.py``).
"""
