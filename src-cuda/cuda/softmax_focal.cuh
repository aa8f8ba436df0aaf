// Multi-class (softmax) focal loss with per-class alpha, one loss per row (ReferenceBackend#softmaxFocal):
//   p = softmax(z), with m = max z, e_c = exp(z_c - m), S = sum_c e_c, O = sum_{c != y} e_c:
//   1 - p_y = O / S                      (summed directly: no cancellation when p_y is close to 1)
//   -log p_y = log1p(O / e_y)            (exact for confident rows; (m - z_y) + log S, which has no cancellation,
//                                         when e_y is tiny and O / e_y could overflow)
//   l = -a_y (1 - p_y)^g log p_y
//   dl/dz_c = -a_y (delta_yc - p_c) [(1 - p_y)^g - g (1 - p_y)^(g-1) p_y log p_y],  delta_yy - p_y = O / S,
//   times the reduction's scale. Targets have no ignore index; lk_ce_check_targets checks them first.
// Shapes as cross-entropy: a warp per row for short rows, a block per row for long ones; the online (max, S, O)
// pass reads the row once, the gradient pass once more. z_y is taken in the first pass, so an in-place gradient
// (written in the second pass) cannot race with its read.
#pragma once
#include "common.cuh"
#include "cross_entropy.cuh"

struct FocalArgs {
    const void* logits; int logitsType; long long logitsStride;
    int rows; int cols;
    const int* targets; const float* alpha; float gamma; // alpha: null means a = 1 for every class
    float scale;
    float* grad; long long gradStride; float* losses;     // each may be null; grad may equal logits (in place)
    const CallStatus* status; double2* partials;          // partials: (sum of this block's row losses, 0)
};
#define LK_FOCAL_PARAMS                                                                                         \
    const void *logits, int logitsType, long long logitsStride, int rows, int cols, const int *targets,        \
        const float *alpha, float gamma, float scale, float *grad, long long gradStride, float *losses,         \
        const CallStatus *status, double2 *partials
#define LK_FOCAL_ARGS                                                                                           \
    FocalArgs {                                                                                                 \
        logits, logitsType, logitsStride, rows, cols, targets, alpha, gamma, scale, grad, gradStride, losses,   \
            status, partials                                                                                    \
    }

// Online state of one worker: the softmax state (m, S), O = sum of e_c over c != y at the same max, and z_y (set by
// the one worker that visits column y, 0 elsewhere, so the merged sum is z_y exactly).
struct FocalAccum {
    SoftmaxState st;
    float others;
    float zy;
};
__device__ __forceinline__ FocalAccum focal_init() { return FocalAccum{softmax_init(), 0.f, 0.f}; }

__device__ __forceinline__ void focal_add(FocalAccum& acc, int target, int c, float z) {
    float m = max_keep_nan(acc.st.m, z);
    if (!(m == acc.st.m)) {
        acc.st.s = rescale(acc.st.s, acc.st.m, m);
        acc.others = rescale(acc.others, acc.st.m, m);
        acc.st.m = m;
    }
    if (z != -INFINITY) {
        float e = exp_shifted(z, m);
        acc.st.s += e;
        if (c != target) acc.others += e;
    }
    if (c == target) acc.zy = z;
}

__device__ __forceinline__ FocalAccum focal_merge(FocalAccum a, FocalAccum b) {
    SoftmaxState st = softmax_merge(a.st, b.st);
    float others = st.m != st.m ? st.m : st.m == -INFINITY ? 0.f : rescale(a.others, a.st.m, st.m) + rescale(b.others, b.st.m, st.m);
    return FocalAccum{st, others, a.zy + b.zy};
}

__device__ __forceinline__ FocalAccum warp_focal(FocalAccum acc) {
    for (int o = 16; o > 0; o >>= 1) {
        FocalAccum other{{__shfl_xor_sync(0xffffffffu, acc.st.m, o), __shfl_xor_sync(0xffffffffu, acc.st.s, o)},
                         __shfl_xor_sync(0xffffffffu, acc.others, o), __shfl_xor_sync(0xffffffffu, acc.zy, o)};
        acc = focal_merge(acc, other);
    }
    return acc;
}

// Every thread gets the same merge, in warp order (deterministic); scratch is reusable on return.
__device__ __forceinline__ FocalAccum block_focal(FocalAccum acc, FocalAccum* scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
    acc = warp_focal(acc);
    if (lane == 0) scratch[warp] = acc;
    __syncthreads();
    FocalAccum total = focal_init();
    for (int w = 0; w < warps; w++) total = focal_merge(total, scratch[w]);
    __syncthreads();
    return total;
}

// What the gradient pass needs of a row: g_c = coef (c == y ? O / S : -p_c), p_c = 2^((z_c - m) log2e - log2 S).
struct FocalRow {
    float loss;
    float coef;       // -scale a_y [(1 - p_y)^g + g (1 - p_y)^(g-1) p_y (-log p_y)]
    float oneMinusPy; // O / S
    float m;
    float log2s;
};

__device__ __forceinline__ FocalRow focal_row(const FocalArgs& k, int y, FocalAccum acc) {
    FocalRow row;
    row.m = acc.st.m;
    row.log2s = log2f(acc.st.s);
    row.oneMinusPy = acc.others / acc.st.s;
    float ey = exp_shifted(acc.zy, row.m);
    float py = ex2_approx(fmaf(acc.zy - row.m, LK_LOG2E, -row.log2s));
    // -log p_y = log(S / e_y) = log1p(O / e_y); below 2^-64, O / e_y (O <= C < 2^31) could overflow, and p_y is so
    // small that (m - z_y) + log S, a sum of two non-negative terms, is accurate. NaN rows take the second form.
    float negLogPy = ey >= 0x1p-64f ? log1pf(acc.others / ey) : (row.m - acc.zy) + row.log2s * LK_LN2;
    float focus = powf(row.oneMinusPy, k.gamma);
    float a = k.alpha == nullptr ? 1.f : k.alpha[y];
    row.loss = a * focus * negLogPy;
    float inner = focus + (k.gamma == 0.f ? 0.f : k.gamma * powf(row.oneMinusPy, k.gamma - 1.f) * py * negLogPy);
    row.coef = -k.scale * a * inner;
    return row;
}

// Gradient over this worker's columns of row r (the same columns, by the same thread, as the first pass).
__device__ __forceinline__ void focal_gradient(const FocalArgs& k, long long r, int y, const FocalRow& row, int worker, int workers) {
    const void* x = row_at(k.logits, k.logitsType, r, k.logitsStride);
    float* g = k.grad + r * k.gradStride;
    for_each_in_row(x, k.logitsType, 0, k.cols, worker, workers, [&](int c, float z) {
        float deltaMinusP = c == y ? row.oneMinusPy : -ex2_approx(fmaf(z - row.m, LK_LOG2E, -row.log2s));
        g[c] = row.coef * deltaMinusP;
    });
}

extern "C" __global__ void lk_softmax_focal_warp(LK_FOCAL_PARAMS) {
    FocalArgs k = LK_FOCAL_ARGS;
    __shared__ double warpLoss[LK_MAX_WARPS];
    if (k.status->badTarget != LK_NO_BAD_TARGET) return;
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warpsPerBlock = blockDim.x >> 5;
    double myLoss = 0.0;
    for (long long r = (long long)blockIdx.x * warpsPerBlock + warp; r < k.rows; r += (long long)gridDim.x * warpsPerBlock) {
        int y = k.targets[r];
        FocalAccum acc = focal_init();
        for_each_in_row(row_at(k.logits, k.logitsType, r, k.logitsStride), k.logitsType, 0, k.cols, lane, 32,
                        [&](int c, float z) { focal_add(acc, y, c, z); });
        FocalRow row = focal_row(k, y, warp_focal(acc));
        if (k.grad != nullptr) focal_gradient(k, r, y, row, lane, 32);
        if (lane == 0) {
            if (k.losses != nullptr) k.losses[r] = row.loss;
            myLoss += row.loss;
        }
    }
    if (lane == 0) warpLoss[warp] = myLoss;
    __syncthreads();
    if (threadIdx.x == 0) {
        double sum = 0.0;
        for (int w = 0; w < warpsPerBlock; w++) sum += warpLoss[w]; // fixed order: deterministic
        k.partials[blockIdx.x] = make_double2(sum, 0.0);
    }
}

extern "C" __global__ void lk_softmax_focal_block(LK_FOCAL_PARAMS) {
    FocalArgs k = LK_FOCAL_ARGS;
    __shared__ FocalAccum scratch[LK_MAX_WARPS];
    if (k.status->badTarget != LK_NO_BAD_TARGET) return;
    double blockLoss = 0.0;
    for (long long r = blockIdx.x; r < k.rows; r += gridDim.x) {
        int y = k.targets[r];
        FocalAccum acc = focal_init();
        for_each_in_row(row_at(k.logits, k.logitsType, r, k.logitsStride), k.logitsType, 0, k.cols, threadIdx.x,
                        blockDim.x, [&](int c, float z) { focal_add(acc, y, c, z); });
        FocalRow row = focal_row(k, y, block_focal(acc, scratch));
        if (k.grad != nullptr) focal_gradient(k, r, y, row, threadIdx.x, blockDim.x);
        if (threadIdx.x == 0) {
            if (k.losses != nullptr) k.losses[r] = row.loss;
            blockLoss += row.loss;
        }
    }
    if (threadIdx.x == 0) k.partials[blockIdx.x] = make_double2(blockLoss, 0.0);
}
