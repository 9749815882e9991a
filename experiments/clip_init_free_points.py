"""Figure clip_init_free_points: a thin wrapper of gapsim/figures/clip_init_free_points.py.

That module's docstring gives the setting and the expected result (needs the extra 'clip').
Run: `python experiments/clip_init_free_points.py [--full | --tiny] [--out figures]`; once the
figure is registered in gapsim.figures.FIGURES, `gapsim figures --only clip_init_free_points`.
"""

import json
import sys
from pathlib import Path

from gapsim.figures import clip_init_free_points as fig
from gapsim.figures import load_data, save_data

if __name__ == "__main__":
    size = "full" if "--full" in sys.argv else "tiny" if "--tiny" in sys.argv else "quick"
    out = Path(sys.argv[sys.argv.index("--out") + 1] if "--out" in sys.argv else "figures")
    data = fig.run(size)
    js = save_data(data, out / "clip_init_free_points.json")
    fig.plot(load_data(js), out / "clip_init_free_points.png")
    print(
        json.dumps(
            [
                {**r["summary"], "cone_x0": r["cone_x0"], "cone_y0": r["cone_y0"]}
                for r in data["runs"]
            ]
        )
    )
