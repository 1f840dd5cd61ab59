"""Drop-ins for :mod:`scipy.spatial` names divkern covers: ``divkern.spatial.distance``."""

from . import distance

__all__ = ["distance"]
