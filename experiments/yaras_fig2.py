"""Figure yaras_fig2: a thin wrapper of gapsim/figures/yaras_fig2.py.

That module's docstring gives the paper figure, the setting and the expected result.
Run: `python experiments/yaras_fig2.py [--full | --tiny] [--out figures]` or
`gapsim figures [--quick] --only yaras_fig2`.
"""

from gapsim.figures import main

if __name__ == "__main__":
    main("yaras_fig2")
