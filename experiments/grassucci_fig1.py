"""Figure grassucci_fig1: a thin wrapper of gapsim/figures/grassucci_fig1.py.

That module's docstring gives the paper figure, the setting and the expected result.
Run: `python experiments/grassucci_fig1.py [--full | --tiny] [--out figures]` or
`gapsim figures [--quick] --only grassucci_fig1`.
"""

from gapsim.figures import main

if __name__ == "__main__":
    main("grassucci_fig1")
