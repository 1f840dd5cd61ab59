"""Drop-in replacements for the :mod:`scipy.special` functions divkern covers.

``import divkern.special as sps`` can stand in for ``scipy.special`` for these names:
same arguments, defaults, dtypes, shapes and special values; divkern's own options
(``out=``, ``threads=``) are keyword-only and come after SciPy's.
"""

from ._divergence import entr, kl_div, rel_entr
from ._lse import log_softmax, logsumexp, softmax

# rel_entr, kl_div and entr are importable from here but not yet listed: the parity suite
# (tests/test_scipy_parity.py::test_special_exports_same_objects) pins __all__ to the
# log-sum-exp names, each also a top-level divkern name.
__all__ = ["logsumexp", "softmax", "log_softmax"]
