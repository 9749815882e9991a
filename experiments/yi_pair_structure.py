"""Figure yi_pair_structure: a thin wrapper of gapsim/figures/yi_pair_structure.py.

That module's docstring gives the paper figure, the setting and the expected result.
Run: `python experiments/yi_pair_structure.py [--full | --tiny] [--out figures]` or
`gapsim figures [--quick] --only yi_pair_structure`.
"""

from gapsim.figures import main

if __name__ == "__main__":
    main("yi_pair_structure")
