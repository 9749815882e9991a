"""The core: the mathematics of a run, which never sees a :class:`~gapsim.app.config.Config`.

Sets and their projections (:mod:`~gapsim.core.sets`, :mod:`~gapsim.core.sets`,
:mod:`~gapsim.core.subspaces`), the loss and its blocked kernels (:mod:`~gapsim.core.loss`,
:mod:`~gapsim.core.blocks`), the measures (:mod:`~gapsim.core.measures`,
:mod:`~gapsim.core.groups`), the temperature and the mechanisms of the objective
(:mod:`~gapsim.core.temperature`, :mod:`~gapsim.core.objective`), the solvers
(:mod:`~gapsim.core.solvers`) and the second-order certificate (:mod:`~gapsim.core._kkt`,
:mod:`~gapsim.core.certificate`).

May import: :mod:`gapsim.errors` and other core modules only (``tests/test_layout.py``).
"""
