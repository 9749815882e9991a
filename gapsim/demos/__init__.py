"""Animated demos of the modality gap on S^2 (``gapsim demo NAME``).

:data:`DEMOS` maps a name to a :class:`~gapsim.demos.base.Demo`; ``DEMOS[name].movie()`` runs
it and returns a :class:`~gapsim.demos.base.Movie` (no matplotlib); :func:`render` (in
:mod:`gapsim.demos.render`) writes it as a GIF (and MP4 where ffmpeg exists).

Example:
    >>> from gapsim.demos import DEMOS
    >>> sorted(DEMOS)
    ['closing', 'cone', 'hyperplanes', 'shift', 'yaras']
"""

from gapsim.demos.base import Curve, Demo, Movie, Slider
from gapsim.demos.scenes import DEMOS

__all__ = ["DEMOS", "Curve", "Demo", "Movie", "Slider"]
