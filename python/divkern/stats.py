"""Drop-in replacement for :func:`scipy.stats.entropy`.

``from divkern.stats import entropy`` stands in for ``from scipy.stats import entropy``:
same arguments, defaults, dtypes, shapes and special values; divkern's own option
(``threads=``) is keyword-only and comes after SciPy's.
"""

from ._divergence import entropy

__all__ = ["entropy"]
