"""Figure yaras_tables: a thin wrapper of gapsim/figures/yaras_tables.py.

That module's docstring gives the paper figure, the setting and the expected result.
Run: `python experiments/yaras_tables.py [--full | --tiny] [--out figures]` or
`gapsim figures [--quick] --only yaras_tables`.
"""

from gapsim.figures import main

if __name__ == "__main__":
    main("yaras_tables")
