// Shared device pieces of the losskit kernels: element loads, the online (max, sum) softmax state,
// NaN-aware max/argmax, warp and block reductions, and the row walker that uses 128-bit loads where the
// row is aligned. Everything accumulates in float32 unless a comment says otherwise.
#pragma once
#include <cuda_fp16.h>
#include <stdint.h>

// Element type codes: the ordinals of the floating types of org.losskit.ElementType.
#define LK_F32 0
#define LK_BF16 1
#define LK_F16 2

#define LK_LOG2E 1.4426950408889634f
#define LK_LN2 0.6931471805599453f
#define LK_MAX_WARPS 32 // blockDim.x <= 1024

// Gradient scale modes of the cross-entropy kernels: a fixed factor passed by the host, or 1 / (sum of w_y over
// rows not ignored), which for device-resident targets only the device knows (it is in the call status).
#define LK_SCALE_FIXED 0
#define LK_SCALE_BY_TARGET_WEIGHT 1

// ------------------------------------------------------------------------------------------------ loads

// bf16 is the upper half of a float32: widening is a shift.
__device__ __forceinline__ float bf16_to_float(unsigned short bits) { return __uint_as_float(((unsigned)bits) << 16); }
__device__ __forceinline__ float f16_to_float(unsigned short bits) { return __half2float(__ushort_as_half(bits)); }

// One element of a float32/bf16/fp16 array, widened to float.
__device__ __forceinline__ float load_elem(const void* base, int type, long long index) {
    switch (type) {
        case LK_BF16: return bf16_to_float(((const unsigned short*)base)[index]);
        case LK_F16: return f16_to_float(((const unsigned short*)base)[index]);
        default: return ((const float*)base)[index];
    }
}

// Optional operand: `fallback` when the pointer is null.
__device__ __forceinline__ float load_or(const void* base, int type, long long index, float fallback) {
    return base == nullptr ? fallback : load_elem(base, type, index);
}

// ------------------------------------------------------------------------------------------------ exp

// ex2.approx: 2^x with about 2 ulp of relative error, flushing subnormal results to 0.
__device__ __forceinline__ float ex2_approx(float x) {
    float y;
    asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
    return y;
}

// exp(z - m) = 2^((z - m) log2e): the input of ex2.approx is pre-scaled by log2e. The difference is taken first:
// it is exact for z near the row maximum m (Sterbenz), where the large terms are, and stays accurate for logits of
// any magnitude (pre-scaling z and m separately would leave an error of an ulp of m log2e, huge at |m| = 1e30).
__device__ __forceinline__ float exp_shifted(float z, float m) { return ex2_approx((z - m) * LK_LOG2E); }

// ------------------------------------------------------------------------------------------------ NaN-aware max

// max that keeps NaN (fmaxf would drop it): NaN in, NaN out, as the reference's Math.max.
__device__ __forceinline__ float max_keep_nan(float a, float b) { return (a > b || a != a) ? a : b; }
__device__ __forceinline__ float min_keep_nan(float a, float b) { return (a < b || a != a) ? a : b; }

// (value, column) of the first largest element, NaN counting as largest and the first NaN winning.
// column == INT_MAX means "nothing strictly above -inf seen yet".
struct ArgMax {
    float value;
    int index;
};
__device__ __forceinline__ ArgMax argmax_init() { return ArgMax{-INFINITY, 0x7fffffff}; }
__device__ __forceinline__ bool argmax_better(float v, int i, ArgMax best) {
    bool vNaN = v != v, bNaN = best.value != best.value;
    if (vNaN || bNaN) return vNaN && (!bNaN || i < best.index);
    return v > best.value || (v == best.value && i < best.index && best.index != 0x7fffffff);
}
__device__ __forceinline__ void argmax_add(ArgMax& best, float v, int i) {
    if (argmax_better(v, i, best)) best = ArgMax{v, i};
}
__device__ __forceinline__ ArgMax argmax_merge(ArgMax a, ArgMax b) {
    if (b.index == 0x7fffffff) return a;
    if (a.index == 0x7fffffff) return b;
    return argmax_better(b.value, b.index, a) ? b : a;
}
// The column to report for a row of `cols` elements: the first one when nothing beat -inf, -1 for no columns.
__device__ __forceinline__ int argmax_column(ArgMax a, int cols) {
    return cols == 0 ? -1 : (a.index == 0x7fffffff ? 0 : a.index);
}

// ------------------------------------------------------------------------------------------------ online softmax

// Running (max m, sum s = sum exp(z - m)) of a set of logits. Merging two states rescales the smaller-max sum:
// s = s_a exp(m_a - m) + s_b exp(m_b - m), m = max(m_a, m_b). A state whose max is -inf has s = 0 (all masked).
struct SoftmaxState {
    float m;
    float s;
};
__device__ __forceinline__ SoftmaxState softmax_init() { return SoftmaxState{-INFINITY, 0.f}; }
__device__ __forceinline__ float rescale(float s, float mOld, float mNew) {
    // exp(mOld - mNew) with -inf - -inf counted as a zero contribution, not NaN.
    return mOld == -INFINITY ? 0.f : s * ex2_approx((mOld - mNew) * LK_LOG2E);
}
__device__ __forceinline__ SoftmaxState softmax_merge(SoftmaxState a, SoftmaxState b) {
    float m = max_keep_nan(a.m, b.m);
    if (m != m) return SoftmaxState{m, m};
    if (m == -INFINITY) return SoftmaxState{m, 0.f};
    return SoftmaxState{m, rescale(a.s, a.m, m) + rescale(b.s, b.m, m)};
}
// log sum exp = m + log s; -inf for an empty or all -inf set, NaN when a NaN (or +inf - +inf) was seen.
__device__ __forceinline__ float softmax_lse(SoftmaxState st) {
    if (st.m == -INFINITY) return -INFINITY;
    return st.m + logf(st.s);
}

// ------------------------------------------------------------------------------------------------ warp / block reductions

__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ __forceinline__ double warp_sum_d(double v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ __forceinline__ SoftmaxState warp_softmax(SoftmaxState st) {
    for (int o = 16; o > 0; o >>= 1) {
        SoftmaxState other{__shfl_xor_sync(0xffffffffu, st.m, o), __shfl_xor_sync(0xffffffffu, st.s, o)};
        st = softmax_merge(st, other);
    }
    return st;
}
__device__ __forceinline__ ArgMax warp_argmax(ArgMax a) {
    for (int o = 16; o > 0; o >>= 1) {
        ArgMax other{__shfl_xor_sync(0xffffffffu, a.value, o), __shfl_xor_sync(0xffffffffu, a.index, o)};
        a = argmax_merge(a, other);
    }
    return a;
}
__device__ __forceinline__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = max_keep_nan(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}
__device__ __forceinline__ float warp_min(float v) {
    for (int o = 16; o > 0; o >>= 1) v = min_keep_nan(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// Block-wide reductions: each warp reduces, warp leaders write to shared memory, and every thread then merges
// the warp results in warp order (so every thread holds the same, deterministic result). `scratch` must hold
// LK_MAX_WARPS values; the trailing barrier makes it reusable right away.
__device__ __forceinline__ float block_sum(float v, float* scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
    v = warp_sum(v);
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    float total = 0.f;
    for (int w = 0; w < warps; w++) total += scratch[w];
    __syncthreads();
    return total;
}
__device__ __forceinline__ double block_sum_d(double v, double* scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
    v = warp_sum_d(v);
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    double total = 0.0;
    for (int w = 0; w < warps; w++) total += scratch[w];
    __syncthreads();
    return total;
}
__device__ __forceinline__ SoftmaxState block_softmax(SoftmaxState st, SoftmaxState* scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
    st = warp_softmax(st);
    if (lane == 0) scratch[warp] = st;
    __syncthreads();
    SoftmaxState total = softmax_init();
    for (int w = 0; w < warps; w++) total = softmax_merge(total, scratch[w]);
    __syncthreads();
    return total;
}
__device__ __forceinline__ ArgMax block_argmax(ArgMax a, ArgMax* scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
    a = warp_argmax(a);
    if (lane == 0) scratch[warp] = a;
    __syncthreads();
    ArgMax total = argmax_init();
    for (int w = 0; w < warps; w++) total = argmax_merge(total, scratch[w]);
    __syncthreads();
    return total;
}
__device__ __forceinline__ float block_max(float v, float* scratch, bool isMin) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
    v = isMin ? warp_min(v) : warp_max(v);
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    float total = scratch[0];
    for (int w = 1; w < warps; w++) total = isMin ? min_keep_nan(total, scratch[w]) : max_keep_nan(total, scratch[w]);
    __syncthreads();
    return total;
}

// ------------------------------------------------------------------------------------------------ row walker

// Calls f(column, value) for the columns [begin, end) of one row that belong to this worker: worker `worker` of
// `workers` takes every workers-th element. For float32 rows whose start is 4-byte aligned, the aligned middle
// of the range is read with 128-bit loads (float4; 4 columns per step, coalesced across workers); the unaligned
// head and the tail are read one element at a time. 16-bit rows use 128-bit loads of 8 elements the same way.
// `begin` and `end` are column numbers; the row's element 0 is at `row`.
template <class F>
__device__ __forceinline__ void for_each_in_row(const void* row, int type, int begin, int end, int worker, int workers,
                                                F f) {
    int elemBytes = type == LK_F32 ? 4 : 2;
    int perVector = 16 / elemBytes;
    uintptr_t address = (uintptr_t)row + (uintptr_t)begin * elemBytes;
    // Elements before the first 16-byte boundary (only possible when the row start is element-aligned).
    int head = (address % elemBytes) != 0 ? end - begin
               : (int)(((16 - (address & 15)) & 15) / elemBytes);
    if (head > end - begin) head = end - begin;
    int vectors = (end - begin - head) / perVector;
    for (int c = begin + worker; c < begin + head; c += workers) f(c, load_elem(row, type, c));
    const int vectorStart = begin + head;
    if (type == LK_F32) {
        const float4* v = (const float4*)((const float*)row + vectorStart);
        for (int i = worker; i < vectors; i += workers) {
            float4 q = v[i];
            int c = vectorStart + 4 * i;
            f(c, q.x); f(c + 1, q.y); f(c + 2, q.z); f(c + 3, q.w);
        }
    } else {
        const uint4* v = (const uint4*)((const unsigned short*)row + vectorStart);
        bool bf16 = type == LK_BF16;
        for (int i = worker; i < vectors; i += workers) {
            uint4 q = v[i];
            int c = vectorStart + 8 * i;
            // Not unrolled: one copy of f's body for the 8 halves keeps the PTX small; the 128-bit load is the point.
#pragma unroll 1
            for (int k = 0; k < 8; k++) {
                unsigned word = k < 2 ? q.x : k < 4 ? q.y : k < 6 ? q.z : q.w;
                unsigned short bits = (unsigned short)((k & 1) ? word >> 16 : word & 0xffffu); // little-endian
                f(c + k, bf16 ? bf16_to_float(bits) : f16_to_float(bits));
            }
        }
    }
    for (int c = vectorStart + vectors * perVector + worker; c < end; c += workers) f(c, load_elem(row, type, c));
}

// Address of row r of a matrix with `stride` elements per row.
__device__ __forceinline__ const void* row_at(const void* base, int type, long long r, long long stride) {
    return (const char*)base + (size_t)(r * stride) * (type == LK_F32 ? 4 : 2);
}

// Block sizes: the host launches row kernels with 256 threads (512 for rows of 16k columns and more), element
// kernels with 256 and the target check with 1024 (org.losskit.cuda.LaunchPlan). No __launch_bounds__: with them
// ptxas trades registers for occupancy and spills; without, every kernel stays under 128 registers per thread
// (build-ptx.sh prints the counts), so 512-thread blocks fit in the 64k-register file.
