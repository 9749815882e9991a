"""Figure liang_shift: a thin wrapper of gapsim/figures/liang_shift.py.

That module's docstring gives the paper figure, the setting and the expected result.
Run: `python experiments/liang_shift.py [--full | --tiny] [--out figures]` or
`gapsim figures [--quick] --only liang_shift`.
"""

from gapsim.figures import main

if __name__ == "__main__":
    main("liang_shift")
