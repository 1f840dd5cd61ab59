// Every size the row-reduction engine is tuned with, in one place, with the measurement
// that chose it (docs/benchmarks.md, "Tuning constants", has the tables).
//
// Two kinds: a size marked [bits] fixes where partial results are combined (block, chunk
// and lane boundaries), so changing it changes the last bits of results (the hashed
// corpus in tests/test_corpus.py notices); the others only move work around and never
// change a bit. Every [bits] size depends on the shape alone, never on the ISA level or
// the thread count: that is what keeps results identical across both.
#pragma once

#include <cstdint>

namespace divkern {
namespace rowreduce {
namespace tuning {

// ---- blocks of a contiguous row (reduced in two passes while L1-resident)
// [bits] elements per block. float64: 32 KiB was ~5% faster from memory than 16 KiB.
constexpr int64_t kBlockF32 = 4096;
constexpr int64_t kBlockF64 = 4096;
// [bits] canonical accumulation lanes of a block (two AVX-512 vectors of either type).
constexpr int kLanesF32 = 32;
constexpr int kLanesF64 = 16;
// [bits] float partial sums take at most this many terms before they are added to double
// accumulators (the error does not grow with the row length).
constexpr int kFlushRows = 8;
// Each block's sum pass prefetches the block this many ahead (1 measured fastest; 2 and 4
// were 5-15% slower).
constexpr int64_t kPrefetchBlocks = 1;

// ---- work units handed to threads
// [bits] elements of a long row per unit (a multiple of every block): long rows are split
// into chunks whose states merge in chunk order.
constexpr int64_t kRowChunk = 65536;
// elements per unit when several short rows share one (never splits a row: no effect on bits)
constexpr int64_t kUnitWork = 65536;

// ---- short rows: one row per SIMD lane
// Rows of at most this many bytes are transposed into lanes (128 float, 64 double; beyond,
// the blocks' canonical lanes waste less than the transposes cost; 65-128 float elements
// were 10-35% faster this way). [bits]: it chooses between two reduction orders.
constexpr int64_t kSmallRowBytes = 512;
// rows per transposed tile (64 rows of 128 floats: a 32 KiB tile)
constexpr int kSmallTile = 64;
// vectors of lanes reduced together (independent dependency chains; AVX2 with 2 vectors
// read one cache line per position and ran at half the speed)
constexpr int kLaneGroup = 4;

// ---- Columns (a kept axis is contiguous: lanes walk down the reduction together)
// bytes of adjacent lanes per unit: a 16 KiB stretch of each position, long enough to
// keep the hardware prefetcher streaming
constexpr int64_t kColTileBytes = 16384;
// [bits] reduction positions per block, at most, and at most kColBlockBytes per block:
// 16 positions of 16 KiB was 4% faster than 32 on (32000, 4096) and 16% on (3000, 100000),
// 8 slower again; 64 was 15% slower than 32.
constexpr int64_t kColMaxBlock = 256;
constexpr int64_t kColBlockBytes = 256 * 1024;
// [bits] blocks per unit, at most; halved (down to 8) until there are kMinUnits units, so
// that machines with more cores than this one have work for each (the shape decides)
constexpr int64_t kColBlocksPerChunk = 256;
constexpr int64_t kMinUnits = 16;

// ---- finalisation and outputs
// rows finalised together (a 64-bit mask of rows to recompute)
constexpr int64_t kBatch = 64;
// vectors of rows whose logarithms are taken in lockstep (one row's log is a long
// dependency chain; the finalisation of short rows was bound by it)
constexpr int kLogGroup = 4;
// softmax rows batched for the finalisation only while their elements stay in cache for
// the second pass
constexpr int64_t kSecondPassBatchBytes = 256 * 1024;
// full-size outputs beyond this many bytes are written with non-temporal stores (no read
// for ownership) after their pages are faulted in, in parallel
constexpr double kStreamBytes = 64.0 * 1024 * 1024;
// log-sum-exp results of at least this many bytes (many short rows: the input streams
// from memory) are stored non-temporally too: rows of 16 floats read ~6% less (~8% faster)
constexpr double kStreamResultBytes = 1024.0 * 1024;

}  // namespace tuning
}  // namespace rowreduce
}  // namespace divkern
