"""Figure yi_regime_map: a thin wrapper of gapsim/figures/yi_regime_map.py.

That module's docstring gives the paper figure, the setting and the expected result.
Run: `python experiments/yi_regime_map.py [--full | --tiny] [--out figures]` or
`gapsim figures [--quick] --only yi_regime_map`.
"""

from gapsim.figures import main

if __name__ == "__main__":
    main("yi_regime_map")
