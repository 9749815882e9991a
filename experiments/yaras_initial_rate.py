"""Figure yaras_initial_rate: a thin wrapper of gapsim/figures/yaras_initial_rate.py.

That module's docstring gives the paper figure, the setting and the expected result.
Run: `python experiments/yaras_initial_rate.py [--full | --tiny] [--out figures]` or
`gapsim figures [--quick] --only yaras_initial_rate`.
"""

from gapsim.figures import main

if __name__ == "__main__":
    main("yaras_initial_rate")
