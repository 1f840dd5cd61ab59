"""Drop-in replacement for :func:`scipy.spatial.distance.jensenshannon`.

``from divkern.spatial.distance import jensenshannon`` stands in for SciPy's: same
arguments, defaults, dtypes and shapes; divkern's own option (``threads=``) is
keyword-only and comes after SciPy's.
"""

from .._divergence import jensenshannon

__all__ = ["jensenshannon"]
