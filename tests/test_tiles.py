"""The engine's tile entry point (rowreduce/tiles-inl.hpp: TileReducer), through its test
hook: rows produced tile by tile reduce with the same kernels as arrays in memory."""

import numpy as np
import pytest

from divkern import _core
import divkern

from conftest import AVAILABLE_ISAS, ulp_error


def _data(shape, dtype, seed=0, scale=3.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(dtype)


@pytest.mark.parametrize("isa", AVAILABLE_ISAS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_lanes_tiles_are_the_column_kernel(isa, dtype):
    # positions fed as side-by-side lanes in blocks of 256 positions: the Columns kernel of
    # a logsumexp along axis 0, bit for bit (results away from zero: no recomputation)
    x = _data((2000, 64), dtype, 1) + dtype(8)
    want = divkern.logsumexp(x, axis=0)
    for tile_rows in (64, 16):
        got = _core.tile_lse(x, True, tile_rows, 256, isa).astype(dtype)
        np.testing.assert_array_equal(got.view(np.uint8), want.view(np.uint8))


@pytest.mark.parametrize("isa", AVAILABLE_ISAS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("lanes", [False, True])
@pytest.mark.parametrize("tiles", [(7, 5), (64, 300), (1, 10000), (33, 4096)])
def test_tiles_are_accurate_and_deterministic(isa, dtype, lanes, tiles):
    x = _data((100, 3001), dtype, 2)
    x[3, :] = -np.inf
    x[4, 10] = np.inf
    x[5, 7] = np.nan
    x[6, ::2] = -np.inf
    x[7] = 1e4 if dtype == np.float32 else 1e300
    src = np.ascontiguousarray(x.T) if lanes else x
    got = _core.tile_lse(src, lanes, *tiles, isa)
    ref = divkern.logsumexp(x.astype(np.float64), axis=1)
    special = np.zeros(100, bool)
    special[[3, 4, 5]] = True
    np.testing.assert_array_equal(got[special], ref[special])
    err = ulp_error(got[~special].astype(dtype), ref[~special], dtype)
    assert err.max() <= 2, err.max()
    again = _core.tile_lse(src, lanes, *tiles, isa)
    np.testing.assert_array_equal(got.view(np.uint8), again.view(np.uint8))


@pytest.mark.parametrize("lanes", [False, True])
def test_tiles_identical_across_isa_levels(lanes):
    x = _data((257, 1500), np.float32, 3)
    src = np.ascontiguousarray(x.T) if lanes else x
    results = [_core.tile_lse(src, lanes, 40, 333, isa) for isa in AVAILABLE_ISAS]
    for r in results[1:]:
        np.testing.assert_array_equal(r.view(np.uint8), results[0].view(np.uint8))
