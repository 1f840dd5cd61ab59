"""Drop-in replacements for the :mod:`scipy.special` functions divkern covers.

``import divkern.special as sps`` can stand in for ``scipy.special`` for these names:
same arguments, defaults, dtypes, shapes and special values; divkern's own options
(``out=``, ``threads=``) are keyword-only and come after SciPy's.
"""

from ._divergence import entr, kl_div, rel_entr
from ._lse import log_softmax, logsumexp, softmax

__all__ = ["logsumexp", "softmax", "log_softmax", "rel_entr", "kl_div", "entr"]
