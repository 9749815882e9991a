"""Figure gap_vs_angle: a thin wrapper of gapsim/figures/gap_vs_angle.py.

That module's docstring gives the paper figure, the setting and the expected result.
Run: `python experiments/gap_vs_angle.py [--full | --tiny] [--out figures]` or
`gapsim figures [--quick] --only gap_vs_angle`.
"""

from gapsim.figures import main

if __name__ == "__main__":
    main("gap_vs_angle")
