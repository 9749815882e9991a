"""Figure yaras_fig4a: a thin wrapper of gapsim/figures/yaras_fig4a.py.

That module's docstring gives the paper figure, the setting and the expected result.
Run: `python experiments/yaras_fig4a.py [--full | --tiny] [--out figures]` or
`gapsim figures [--quick] --only yaras_fig4a`.
"""

from gapsim.figures import main

if __name__ == "__main__":
    main("yaras_fig4a")
