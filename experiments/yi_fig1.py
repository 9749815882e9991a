"""Yi et al. (2025) Fig. 1 on S^2; see gapsim/figures/yi_fig1.py. Run: python experiments/yi_fig1.py."""

from gapsim.figures import main

if __name__ == "__main__":
    main("yi_fig1")
