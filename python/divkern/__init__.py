"""divkern: fast, accurate divergence kernels for NumPy.

The log-sum-exp family, drop-in replacements for :mod:`scipy.special`:

    logsumexp, softmax, log_softmax       (also in divkern.special)

Cross-entropy and divergences between logits, with their gradients:

    cross_entropy, softmax_entropy, log_softmax_at, kl_logits, jsd_logits, tvd_logits

Divergences and entropy, drop-ins for SciPy's:

    divkern.special.rel_entr, kl_div, entr      (scipy.special)
    divkern.stats.entropy                       (scipy.stats)
    divkern.spatial.distance.jensenshannon      (scipy.spatial.distance)

Cross-entropy of a linear layer without its logits (a language model's head):

    linear_cross_entropy

Configuration: show_config, get_num_threads, set_num_threads, get_isa.
Environment: DIVKERN_NUM_THREADS, DIVKERN_ISA=baseline|avx2|avx512.
"""

__version__ = "0.1.0"

# OpenBLAS (the scipy-openblas32 package) first: importing it loads the library the
# compiled module links (and, on Windows, adds its folder to the DLL search path).
import scipy_openblas32 as _scipy_openblas32  # noqa: F401

from . import _config
from ._config import get_isa, get_num_threads, set_num_threads, show_config
from ._lce import linear_cross_entropy
from ._lse import log_softmax, logsumexp, softmax
from ._ce import cross_entropy, jsd_logits, kl_logits, log_softmax_at, softmax_entropy, tvd_logits
from . import spatial, special, stats

_config._apply_environment()

__all__ = [
    "__version__",
    "logsumexp",
    "softmax",
    "log_softmax",
    "cross_entropy",
    "softmax_entropy",
    "log_softmax_at",
    "kl_logits",
    "jsd_logits",
    "tvd_logits",
    "linear_cross_entropy",
    "special",
    "stats",
    "spatial",
    "show_config",
    "get_num_threads",
    "set_num_threads",
    "get_isa",
]
