// Reductions of float data (ReferenceBackend#reduce, #reduceRows, #argmax, #argmaxRows, #dot), whole-array and
// per row. Sums (sum, mean, l1, l2, dot) accumulate in double per thread: the product of two floats and the
// square of a float are exact in double, so the result rounded to float is the float nearest the exact value for
// well-conditioned input, and l2 = sqrt(sum x^2) can neither overflow nor underflow early. min/max/argmax keep
// NaN (the first NaN wins for argmax); logsumexp is the online (max, sum) pass with accurate expf.
#pragma once
#include "common.cuh"

// Operation codes: the ordinals of org.losskit.ReduceOp, then argmax and dot.
#define LK_SUM 0
#define LK_MEAN 1
#define LK_MIN 2
#define LK_MAX 3
#define LK_LOGSUMEXP 4
#define LK_L1_NORM 5
#define LK_L2_NORM 6
#define LK_ARGMAX 7
#define LK_DOT 8

// One worker's state for any of the reductions; only the fields of the op in use change.
struct ReduceState {
    double sum;     // sum, mean, l1, l2 (of squares), dot; logsumexp: sum exp(x - m)
    float m;        // min, max, logsumexp: running extreme
    ArgMax am;      // argmax (column, or flat index for whole arrays when it fits int: see below)
    long long flat; // argmax: flat index of am
};

__device__ __forceinline__ ReduceState reduce_init(int op) {
    return ReduceState{0.0, op == LK_MIN ? INFINITY : -INFINITY, argmax_init(), -1};
}

__device__ __forceinline__ void reduce_add(int op, ReduceState& st, float x, float y, long long flat) {
    switch (op) {
        case LK_SUM: case LK_MEAN: st.sum += (double)x; break;
        case LK_L1_NORM: st.sum += fabs((double)x); break;
        case LK_L2_NORM: st.sum += (double)x * (double)x; break;
        case LK_DOT: st.sum += (double)x * (double)y; break;
        case LK_MIN: st.m = min_keep_nan(st.m, x); break;
        case LK_MAX: st.m = max_keep_nan(st.m, x); break;
        case LK_LOGSUMEXP: {
            // online: m' = max(m, x); s' = s exp(m - m') + exp(x - m'); -inf terms contribute 0
            float m = max_keep_nan(st.m, x);
            if (!(m == st.m)) {
                st.sum = st.m == -INFINITY ? 0.0 : st.sum * (double)expf(st.m - m);
                st.m = m;
            }
            if (x != -INFINITY) st.sum += (double)expf(x - m);
            break;
        }
        case LK_ARGMAX: {
            // first largest, NaN largest: flat indices grow within a worker, so "strictly better" keeps the first
            bool xNaN = x != x, bNaN = st.am.value != st.am.value;
            if (st.flat < 0 || (!bNaN && (xNaN || x > st.am.value))) { st.am.value = x; st.flat = flat; }
            break;
        }
    }
}

__device__ __forceinline__ ReduceState reduce_merge(int op, ReduceState a, ReduceState b) {
    switch (op) {
        case LK_MIN: a.m = min_keep_nan(a.m, b.m); return a;
        case LK_MAX: a.m = max_keep_nan(a.m, b.m); return a;
        case LK_LOGSUMEXP: {
            float m = max_keep_nan(a.m, b.m);
            double sa = a.m == -INFINITY ? 0.0 : a.sum * (double)expf(a.m - m);
            double sb = b.m == -INFINITY ? 0.0 : b.sum * (double)expf(b.m - m);
            return ReduceState{m == -INFINITY ? 0.0 : sa + sb, m, a.am, -1};
        }
        case LK_ARGMAX: {
            if (b.flat < 0) return a;
            if (a.flat < 0) return b;
            bool aNaN = a.am.value != a.am.value, bNaN = b.am.value != b.am.value;
            bool takeB = (aNaN || bNaN) ? (bNaN && (!aNaN || b.flat < a.flat))
                                        : (b.am.value > a.am.value || (b.am.value == a.am.value && b.flat < a.flat));
            return takeB ? b : a;
        }
        default: a.sum += b.sum; return a;
    }
}

__device__ __forceinline__ ReduceState reduce_shfl(ReduceState st, int offset) {
    ReduceState o;
    o.sum = __shfl_xor_sync(0xffffffffu, st.sum, offset);
    o.m = __shfl_xor_sync(0xffffffffu, st.m, offset);
    o.am.value = __shfl_xor_sync(0xffffffffu, st.am.value, offset);
    o.am.index = 0;
    o.flat = __shfl_xor_sync(0xffffffffu, st.flat, offset);
    return o;
}

__device__ __forceinline__ ReduceState warp_reduce(int op, ReduceState st) {
    for (int o = 16; o > 0; o >>= 1) {
        // Merge in lane order (lower lane first) so every lane computes the same thing.
        ReduceState other = reduce_shfl(st, o);
        bool lower = (threadIdx.x & o) == 0;
        st = lower ? reduce_merge(op, st, other) : reduce_merge(op, other, st);
    }
    return st;
}

__device__ __forceinline__ ReduceState block_reduce(int op, ReduceState st, ReduceState* scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
    st = warp_reduce(op, st);
    if (lane == 0) scratch[warp] = st;
    __syncthreads();
    ReduceState total = scratch[0];
    for (int w = 1; w < warps; w++) total = reduce_merge(op, total, scratch[w]);
    __syncthreads();
    return total;
}

// Whole-array reduction of a rows x cols view (and of a second view y for dot). Grid as lk_pointwise; each block
// writes one partial, which the host combines in block order (org.losskit.cuda.Partials):
// sums: (sum, 0); min/max: (value, 0); logsumexp: (m, sum exp(x - m)); argmax: (value, flat index or -1).
extern "C" __global__ void lk_reduce_all(int op, const void* x, int xType, long long xStride,
                                         const void* y, int yType, long long yStride, int rows, int cols,
                                         double2* partials) {
    __shared__ ReduceState scratch[LK_MAX_WARPS];
    ReduceState st = reduce_init(op);
    for (long long r = blockIdx.y; r < rows; r += gridDim.y) {
        for (long long c = (long long)blockIdx.x * blockDim.x + threadIdx.x; c < cols; c += (long long)gridDim.x * blockDim.x) {
            float v = load_elem(x, xType, r * xStride + c);
            float w = op == LK_DOT ? load_elem(y, yType, r * yStride + c) : 0.f;
            reduce_add(op, st, v, w, r * cols + c);
        }
    }
    st = block_reduce(op, st, scratch);
    if (threadIdx.x == 0) {
        double2 out;
        switch (op) {
            case LK_MIN: case LK_MAX: out = make_double2((double)st.m, 0.0); break;
            case LK_LOGSUMEXP: out = make_double2((double)st.m, st.sum); break;
            case LK_ARGMAX: out = make_double2((double)st.am.value, (double)st.flat); break;
            default: out = make_double2(st.sum, 0.0);
        }
        partials[blockIdx.y * gridDim.x + blockIdx.x] = out;
    }
}

// The value of a finished row: mean = sum / n (NaN for n = 0), l2 = sqrt, logsumexp = m + log s with a non-finite
// m (NaN, +inf, or -inf for an empty or all -inf row) returned as is.
__device__ __forceinline__ float reduce_value(int op, ReduceState st, int n) {
    switch (op) {
        case LK_MEAN: return (float)(st.sum / n);
        case LK_L2_NORM: return (float)sqrt(st.sum);
        case LK_MIN: case LK_MAX: return st.m;
        case LK_LOGSUMEXP: return isfinite(st.m) ? (float)((double)st.m + log(st.sum)) : st.m;
        default: return (float)st.sum;
    }
}

// Per-row reductions: out[r] (float) or, for argmax, outIndex[r] (int column, -1 for no columns).
__device__ __forceinline__ void reduce_row_write(int op, ReduceState st, long long r, int cols, float* out, int* outIndex) {
    if (op == LK_ARGMAX) outIndex[r] = st.flat < 0 ? -1 : (int)(st.flat - r * cols);
    else out[r] = reduce_value(op, st, cols);
}

extern "C" __global__ void lk_reduce_rows_warp(int op, const void* x, int xType, long long xStride, int rows, int cols,
                                               float* out, int* outIndex) {
    int lane = threadIdx.x & 31, warpsPerBlock = blockDim.x >> 5;
    for (long long r = (long long)blockIdx.x * warpsPerBlock + (threadIdx.x >> 5); r < rows;
         r += (long long)gridDim.x * warpsPerBlock) {
        ReduceState st = reduce_init(op);
        const void* row = row_at(x, xType, r, xStride);
        for (int c = lane; c < cols; c += 32) reduce_add(op, st, load_elem(row, xType, c), 0.f, r * cols + c);
        st = warp_reduce(op, st);
        if (lane == 0) reduce_row_write(op, st, r, cols, out, outIndex);
    }
}

extern "C" __global__ void lk_reduce_rows_block(int op, const void* x, int xType, long long xStride, int rows, int cols,
                                                float* out, int* outIndex) {
    __shared__ ReduceState scratch[LK_MAX_WARPS];
    for (long long r = blockIdx.x; r < rows; r += gridDim.x) {
        ReduceState st = reduce_init(op);
        const void* row = row_at(x, xType, r, xStride);
        for_each_in_row(row, xType, 0, cols, threadIdx.x, blockDim.x,
                        [&](int c, float v) { reduce_add(op, st, v, 0.f, r * cols + c); });
        st = block_reduce(op, st, scratch);
        if (threadIdx.x == 0) reduce_row_write(op, st, r, cols, out, outIndex);
    }
}
