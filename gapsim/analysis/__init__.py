r"""Bring your own embeddings: analyse real paired embeddings with the simulator's measures.

``gapsim.analyze(x, y)`` (:func:`gapsim.analysis.core.analyze`) returns an
:class:`~gapsim.analysis.core.Analysis`: gap measures, spectra and dimension collapse,
principal angles of the data subspaces, the cone effect, post-hoc alignments, Liang et al.'s
loss-versus-shift curves, and optionally a free-point InfoNCE run started from the embeddings.
Modules: :mod:`~gapsim.analysis.load` (files, validation), :mod:`~gapsim.analysis.pairs`
(blocked pairwise pass), :mod:`~gapsim.analysis.spectra`, :mod:`~gapsim.analysis.posthoc`,
:mod:`~gapsim.analysis.replay`, :mod:`~gapsim.analysis.figure` (the one-page figure).

The names below are imported on first use (:mod:`gapsim._lazy`): reading a file with
:mod:`~gapsim.analysis.load` does not import the analysis (and the simulator behind it).
"""

from gapsim import _lazy

_EXPORTS = {
    "gapsim.analysis.core": ("Analysis", "analyze"),
    "gapsim.analysis.load": ("NormalizedWarning", "load_pair", "validate_pair"),
}
__getattr__, __dir__, __all__, _WHERE = _lazy.attach(globals(), _EXPORTS)
