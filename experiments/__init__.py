"""The paper figures, one module each: ``experiments/NAME.py`` is the one home of figure NAME.

Each module's docstring names the paper figure, the setting and the expected result; it defines
``run(size) -> data`` and ``plot(data, path)`` and runs as a script::

    python experiments/NAME.py [--tiny | --full] [--out figures]

``gapsim figures`` (registry :func:`gapsim.app.figures.figure_names`) rebuilds them all. This
package is installed with gapsim, so the command works from an installed package too.
"""

ORDER = (
    "yi_fig1",
    "gap_vs_angle",
    "yi_pair_structure",
    "yi_regime_map",
    "yi_bridge",
    "yaras_fig2",
    "yaras_fig4a",
    "yaras_initial_rate",
    "yaras_tables",
    "liang_shift",
    "clip_init_free_points",
    "grassucci_fig1",
)
"""The display order of the figures: by paper, as in docs/theory.md."""
