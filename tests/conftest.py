"""Shared fixtures and reference helpers for divkern's tests.

The suite runs at the ISA level divkern selects (or the one forced by DIVKERN_ISA; CI
runs it a second time with DIVKERN_ISA=baseline). test_isa_equivalence.py compares all
levels this CPU supports, in-process, bit for bit.
"""

import numpy as np
import pytest

import divkern
from divkern import _config

AVAILABLE_ISAS = _config._available_isas()


def pytest_report_header(config):
    return (
        f"divkern {divkern.__version__}: ISA {divkern.get_isa()} "
        f"(available: {', '.join(AVAILABLE_ISAS)}), threads {divkern.get_num_threads()}"
    )


@pytest.fixture(params=AVAILABLE_ISAS)
def each_isa(request):
    """Run the test once per ISA level this CPU supports."""
    with _config._isa(request.param):
        yield request.param


def ulp_error(actual, reference, dtype):
    """|actual - reference| in units of the ulp of `reference` rounded to `dtype`.

    `reference` is a float64/longdouble array (or scalar); subnormal references use the
    smallest subnormal spacing.
    """
    dtype = np.dtype(dtype)
    ref = np.asarray(reference, dtype=np.longdouble)
    act = np.asarray(actual, dtype=np.longdouble)
    spacing = np.spacing(np.abs(ref.astype(dtype))).astype(np.longdouble)
    spacing = np.maximum(spacing, np.finfo(dtype).smallest_subnormal)
    return np.abs(act - ref) / spacing
