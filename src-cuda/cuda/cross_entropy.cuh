// Fused softmax cross-entropy: per-row loss, log-sum-exp, diagnostics and gradient in one launch (two for the
// split shape), for class-index targets (weights, ignore_index, label smoothing) and probability targets, with
// z-loss and logit softcap. Semantics are those of org.losskit.reference.ReferenceBackend#crossEntropy and
// #crossEntropyProbs; the notation follows it:
//   z = softcap(x) = c tanh(x / c) (identity when c = 0), lse = log sum_c exp z_c, p = exp(z - lse),
//   index targets:  l = (1-e) w_y (lse - z_y) + (e/C) sum_c w_c (lse - z_c) + lambda lse^2
//                   dl/dz_c = (1-e) w_y (p_c - [c = y]) + (e/C)(W p_c - w_c) + 2 lambda lse p_c,  W = sum_c w_c
//   prob targets:   q' = (1-e) q + e/C,  l = sum_c w_c q'_c (lse - z_c) + lambda lse^2
//                   dl/dz_c = p_c sum_k w_k q'_k - w_c q'_c + 2 lambda lse p_c
//   and dl/dx_c = dl/dz_c (1 - (z_c / c)^2) through the softcap, times the reduction's scale.
// Both gradients have the form a p_c - b_c with a per-row coefficient a, which is how they are computed.
#pragma once
#include "common.cuh"

// What a call reports back besides its outputs; lives at the start of the call's scratch buffer, followed by the
// per-block partials. The host reads it after the launch (org.losskit.cuda.CallStatus mirrors this layout).
struct CallStatus {
    unsigned long long badTarget; // (row << 32) | (unsigned) value of the first invalid target; ~0 when none
    double targetWeightSum;       // sum of w_y over the rows not ignored (PyTorch's mean denominator)
    double counted;               // number of rows not ignored
    double reserved;
};
#define LK_NO_BAD_TARGET 0xffffffffffffffffull

// Checks every class-index target (in [0, classes), or equal to ignoreIndex when hasIgnoreIndex is set) and sums
// the target-class weights of the rows not ignored. One block, so the sums run in a fixed order (deterministic, no
// float atomics); the first bad row wins through an integer atomicMin on (row, value) packed with the row in the
// high bits. Used by every loss with class-index targets (cross-entropy, NLL, softmax focal).
extern "C" __global__ void lk_ce_check_targets(const int* targets, int rows, int classes, int hasIgnoreIndex,
                                               int ignoreIndex, const float* classWeights, CallStatus* status) {
    __shared__ unsigned long long firstBad;
    __shared__ double scratch[LK_MAX_WARPS];
    if (threadIdx.x == 0) firstBad = LK_NO_BAD_TARGET;
    __syncthreads();
    double weightSum = 0.0, counted = 0.0;
    for (int r = threadIdx.x; r < rows; r += blockDim.x) {
        int t = targets[r];
        if (hasIgnoreIndex && t == ignoreIndex) continue;
        if (t < 0 || t >= classes) {
            atomicMin(&firstBad, ((unsigned long long)(unsigned)r << 32) | (unsigned)t);
            continue;
        }
        weightSum += classWeights == nullptr ? 1.0 : (double)classWeights[t];
        counted += 1.0;
    }
    weightSum = block_sum_d(weightSum, scratch);
    counted = block_sum_d(counted, scratch);
    if (threadIdx.x == 0) {
        status->badTarget = firstBad;
        status->targetWeightSum = weightSum;
        status->counted = counted;
        status->reserved = 0.0;
    }
}

// Everything a cross-entropy launch gets; the host passes these as flat kernel parameters.
struct CeArgs {
    const void* logits; int logitsType; long long logitsStride;
    int rows; int cols;
    const int* targets;                                   // index targets (dense int32), or null
    const void* probs; int probsType; long long probsStride; // probability targets, or null
    const float* classWeights; float weightSum;           // null means every weight is 1; W = sum_c w_c
    int ignoreIndex; float smoothing; float zLoss; float softcap;
    int scaleMode; float scale;                            // LK_SCALE_FIXED: `scale`; else 1 / targetWeightSum
    float* grad; long long gradStride;                    // null: no gradient (may equal logits: in place)
    float* losses; float* lse; float* maxLogit; int* argmax; float* targetProb; float* entropy; // each may be null
    const CallStatus* status; double2* partials;           // partials: (sum of this block's row losses, 0)
    int splits; void* splitPartials;                       // split shape only
};

#define LK_CE_PARAMS                                                                                            \
    const void *logits, int logitsType, long long logitsStride, int rows, int cols, const int *targets,        \
        const void *probs, int probsType, long long probsStride, const float *classWeights, float weightSum,    \
        int ignoreIndex, float smoothing, float zLoss, float softcap, int scaleMode, float scale, float *grad,  \
        long long gradStride, float *losses, float *lse, float *maxLogit, int *argmax, float *targetProb,      \
        float *entropy, const CallStatus *status, double2 *partials, int splits, void *splitPartials
#define LK_CE_ARGS                                                                                              \
    CeArgs {                                                                                                    \
        logits, logitsType, logitsStride, rows, cols, targets, probs, probsType, probsStride, classWeights,     \
            weightSum, ignoreIndex, smoothing, zLoss, softcap, scaleMode, scale, grad, gradStride, losses, lse,  \
            maxLogit, argmax, targetProb, entropy, status, partials, splits, splitPartials                      \
    }

__device__ __forceinline__ float softcapped(float x, float cap) { return cap > 0.f ? cap * tanhf(x / cap) : x; }
// d softcap(x) / dx = 1 - tanh^2(x / c) = 1 - (z / c)^2.
__device__ __forceinline__ float softcap_slope(float z, float cap) {
    if (cap <= 0.f) return 1.f;
    float t = z / cap;
    return 1.f - t * t;
}

// First-pass state of one worker over part of a row: the online softmax of z, the argmax of the raw logits, and
// the target sums: index targets: A = sum_c w_c z_c (smoothing only), B = z_y (set by the one worker that visits
// column y, 0 elsewhere, so the merged sum is z_y exactly); probability targets: A = sum_c w_c q'_c z_c over terms
// with w_c q'_c != 0 (so 0 * -inf does not make NaN), B = sum_c w_c q'_c.
// Taking z_y in the first pass, rather than reading it after, keeps an in-place gradient (which overwrites column
// y in the second pass, possibly in another warp or block) from racing with that read.
struct RowAccum {
    SoftmaxState st;
    ArgMax am;
    float a;
    float b;
};
__device__ __forceinline__ RowAccum accum_init() { return RowAccum{softmax_init(), argmax_init(), 0.f, 0.f}; }

template <bool PROBS>
__device__ __forceinline__ void accum_add(RowAccum& acc, const CeArgs& k, long long r, int target, int c, float x) {
    argmax_add(acc.am, x, c);
    float z = softcapped(x, k.softcap);
    float m = max_keep_nan(acc.st.m, z);
    if (!(m == acc.st.m)) { acc.st.s = rescale(acc.st.s, acc.st.m, m); acc.st.m = m; }
    if (z != -INFINITY) acc.st.s += exp_shifted(z, m);
    float w = k.classWeights == nullptr ? 1.f : k.classWeights[c];
    if (PROBS) {
        float q = (1.f - k.smoothing) * load_elem(k.probs, k.probsType, r * k.probsStride + c) + k.smoothing / k.cols;
        float wq = w * q;
        if (wq != 0.f) acc.a += wq * z;
        acc.b += wq;
    } else {
        if (k.smoothing > 0.f) acc.a += w * z;
        if (c == target) acc.b = z;
    }
}
__device__ __forceinline__ RowAccum accum_merge(RowAccum x, RowAccum y) {
    return RowAccum{softmax_merge(x.st, y.st), argmax_merge(x.am, y.am), x.a + y.a, x.b + y.b};
}

// What the gradient pass needs of a row, and what the row outputs are made of.
struct RowResult {
    float lse;   // natural log-sum-exp m + log s
    float m;     // the row maximum of z
    float log2s; // log2 of s = sum exp(z - m): p_c = exp(z_c - lse) = 2^((z_c - m) log2e - log2 s)
    float loss;
    float coefP; // a in g_c = a p_c - b_c (before scale and softcap slope)
    float zy;    // softcapped target logit (index targets)
    int target;  // -1 for ignored rows and probability targets
    bool ignored;
};

template <bool PROBS>
__device__ __forceinline__ RowResult row_result(const CeArgs& k, long long r, RowAccum acc) {
    RowResult res;
    res.lse = softmax_lse(acc.st);
    res.m = acc.st.m;
    res.log2s = log2f(acc.st.s);
    float e = k.smoothing, lambda = k.zLoss;
    float zLossTerm = lambda > 0.f ? lambda * res.lse * res.lse : 0.f;
    if (PROBS) {
        res.target = -1;
        res.ignored = false;
        res.zy = 0.f;
        // l = sum_c w_c q'_c (lse - z_c) = lse B - A
        res.loss = res.lse * acc.b - acc.a + zLossTerm;
        res.coefP = acc.b + (lambda > 0.f ? 2.f * lambda * res.lse : 0.f);
        return res;
    }
    int y = k.targets[r];
    res.ignored = y == k.ignoreIndex;
    res.target = res.ignored ? -1 : y;
    if (res.ignored) { res.loss = 0.f; res.coefP = 0.f; res.zy = 0.f; return res; }
    res.zy = acc.b;
    float wy = k.classWeights == nullptr ? 1.f : k.classWeights[y];
    // lse - z_y = (m - z_y) + log s: no cancellation between two large numbers when the logits are large
    float loss = (1.f - e) * wy * ((res.m - res.zy) + res.log2s * LK_LN2);
    // (e/C) sum_c w_c (lse - z_c) = (e/C)(W lse - A)
    if (e > 0.f) loss += e / k.cols * (k.weightSum * res.lse - acc.a);
    res.loss = loss + zLossTerm;
    res.coefP = (1.f - e) * wy + (e > 0.f ? e / k.cols * k.weightSum : 0.f) + (lambda > 0.f ? 2.f * lambda * res.lse : 0.f);
    return res;
}

__device__ __forceinline__ float gradient_scale(const CeArgs& k) {
    return k.scaleMode == LK_SCALE_BY_TARGET_WEIGHT ? (float)(1.0 / k.status->targetWeightSum) : k.scale;
}

// The gradient (and entropy) pass over columns [begin, end) of row r by this worker; returns this worker's part
// of sum_c p_c (m - z_c) over p_c > 0 (0 log 0 = 0), from which
// entropy = -sum p log p = sum p (lse - z) = log s + sum p (m - z)   (sum p = 1),
// which, unlike lse - sum p z, does not cancel for large logits.
// g_c = (a p_c - b_c) * scale * softcap'(x_c), b_c = (1-e) w_y [c = y] + (e/C) w_c (index) or w_c q'_c (probs).
template <bool PROBS>
__device__ __forceinline__ float gradient_pass(const CeArgs& k, long long r, const RowResult& res, int begin, int end,
                                               int worker, int workers) {
    const void* row = row_at(k.logits, k.logitsType, r, k.logitsStride);
    float* g = k.grad == nullptr ? nullptr : k.grad + r * k.gradStride;
    float pz = 0.f;
    bool wantEntropy = k.entropy != nullptr;
    if (res.ignored) {
        if (g != nullptr) for (int c = begin + worker; c < end; c += workers) g[c] = 0.f;
        if (!wantEntropy) return 0.f;
    }
    float scale = gradient_scale(k);
    float e = k.smoothing;
    for_each_in_row(row, k.logitsType, begin, end, worker, workers, [&](int c, float x) {
        float z = softcapped(x, k.softcap);
        // p = exp(z - lse) = 2^((z - m) log2e - log2 s); an all -inf row gives NaN (-inf - -inf), as the reference
        float p = ex2_approx(fmaf(z - res.m, LK_LOG2E, -res.log2s));
        if (wantEntropy && p > 0.f) pz += p * (res.m - z);
        if (g == nullptr || res.ignored) return;
        float w = k.classWeights == nullptr ? 1.f : k.classWeights[c];
        float b;
        if (PROBS) {
            float q = (1.f - e) * load_elem(k.probs, k.probsType, r * k.probsStride + c) + e / k.cols;
            b = w * q;
        } else {
            b = (e > 0.f ? e / k.cols * w : 0.f) + (c == res.target ? (1.f - e) * w : 0.f);
        }
        g[c] = (res.coefP * p - b) * scale * softcap_slope(z, k.softcap);
    });
    return pz;
}

// Per-row outputs; the caller is the one thread that owns the row's results.
__device__ __forceinline__ void write_row_outputs(const CeArgs& k, long long r, const RowResult& res, ArgMax am, float pz) {
    if (k.losses != nullptr) k.losses[r] = res.loss;
    if (k.lse != nullptr) k.lse[r] = res.lse;
    if (k.maxLogit != nullptr) k.maxLogit[r] = am.value;
    if (k.argmax != nullptr) k.argmax[r] = argmax_column(am, k.cols);
    // p_y = exp(z_y - lse) = 2^((z_y - m) log2e - log2 s)
    if (k.targetProb != nullptr) {
        k.targetProb[r] = res.target < 0 ? __int_as_float(0x7fc00000) : ex2_approx(fmaf(res.zy - res.m, LK_LOG2E, -res.log2s));
    }
    // entropy = log s + sum p (m - z); an all -inf row: log 0 = -inf (= lse, as the reference)
    if (k.entropy != nullptr) k.entropy[r] = res.m == -INFINITY ? res.lse : res.log2s * LK_LN2 + pz;
}

// A kernel that sees a bad target writes nothing: the host reads the status and throws.
__device__ __forceinline__ bool targets_failed(const CeArgs& k) {
    return k.targets != nullptr && k.status->badTarget != LK_NO_BAD_TARGET;
}

// ---------------------------------------------------------------------------------------------- warp per row
// Short rows (the host picks this below a column threshold): each warp owns a row, lanes stride over its columns,
// and the row state is merged with shuffles; the second pass re-reads the row, which is then in L1/L2.
template <bool PROBS>
__device__ void ce_warp(const CeArgs& k) {
    __shared__ double warpLoss[LK_MAX_WARPS];
    if (targets_failed(k)) return;
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warpsPerBlock = blockDim.x >> 5;
    double myLoss = 0.0;
    for (long long r = (long long)blockIdx.x * warpsPerBlock + warp; r < k.rows; r += (long long)gridDim.x * warpsPerBlock) {
        const void* row = row_at(k.logits, k.logitsType, r, k.logitsStride);
        int target = PROBS ? -1 : k.targets[r];
        RowAccum acc = accum_init();
        for_each_in_row(row, k.logitsType, 0, k.cols, lane, 32, [&](int c, float x) { accum_add<PROBS>(acc, k, r, target, c, x); });
        acc.st = warp_softmax(acc.st);
        acc.am = warp_argmax(acc.am);
        acc.a = warp_sum(acc.a);
        acc.b = warp_sum(acc.b);
        RowResult res = row_result<PROBS>(k, r, acc);
        float pz = 0.f;
        if (k.grad != nullptr || k.entropy != nullptr) pz = warp_sum(gradient_pass<PROBS>(k, r, res, 0, k.cols, lane, 32));
        if (lane == 0) {
            write_row_outputs(k, r, res, acc.am, pz);
            myLoss += res.loss;
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

// ---------------------------------------------------------------------------------------------- block per row
// Long rows: a block owns a row; pass 1 is the online (max, sum) pass with 128-bit loads, merged across the
// block in warp order; pass 2 computes the gradient.
template <bool PROBS>
__device__ void ce_block(const CeArgs& k) {
    __shared__ SoftmaxState stScratch[LK_MAX_WARPS];
    __shared__ ArgMax amScratch[LK_MAX_WARPS];
    __shared__ float fScratch[LK_MAX_WARPS];
    if (targets_failed(k)) return;
    double blockLoss = 0.0;
    for (long long r = blockIdx.x; r < k.rows; r += gridDim.x) {
        const void* row = row_at(k.logits, k.logitsType, r, k.logitsStride);
        int target = PROBS ? -1 : k.targets[r];
        RowAccum acc = accum_init();
        for_each_in_row(row, k.logitsType, 0, k.cols, threadIdx.x, blockDim.x,
                        [&](int c, float x) { accum_add<PROBS>(acc, k, r, target, c, x); });
        acc.st = block_softmax(acc.st, stScratch);
        acc.am = block_argmax(acc.am, amScratch);
        acc.a = block_sum(acc.a, fScratch);
        acc.b = block_sum(acc.b, fScratch);
        RowResult res = row_result<PROBS>(k, r, acc);
        float pz = 0.f;
        if (k.grad != nullptr || k.entropy != nullptr) {
            pz = block_sum(gradient_pass<PROBS>(k, r, res, 0, k.cols, threadIdx.x, blockDim.x), fScratch);
        }
        if (threadIdx.x == 0) {
            write_row_outputs(k, r, res, acc.am, pz);
            blockLoss += res.loss;
        }
    }
    if (threadIdx.x == 0) k.partials[blockIdx.x] = make_double2(blockLoss, 0.0);
}

// ---------------------------------------------------------------------------------------------- row split
// Few long rows: row blockIdx.y is cut into `splits` column chunks, one block each (blockIdx.x). Launch 1
// stores each chunk's RowAccum; launch 2 merges a row's chunks in chunk order (every block of the row does the
// same merge, so all agree bit for bit), then each block writes the gradient of its chunk and chunk 0 writes the
// row outputs and the row's partial. The host does not pick this shape when entropy is asked for.
__device__ __forceinline__ void chunk_range(const CeArgs& k, int chunk, int* begin, int* end) {
    // Chunks are multiples of 8 columns so 128-bit loads stay aligned across chunks of an aligned row.
    long long per = ((long long)k.cols + k.splits - 1) / k.splits;
    per = (per + 7) & ~7ll;
    long long b = per * chunk, e = b + per;
    *begin = (int)(b < k.cols ? b : k.cols);
    *end = (int)(e < k.cols ? e : k.cols);
}

template <bool PROBS>
__device__ void ce_split_accumulate(const CeArgs& k) {
    __shared__ SoftmaxState stScratch[LK_MAX_WARPS];
    __shared__ ArgMax amScratch[LK_MAX_WARPS];
    __shared__ float fScratch[LK_MAX_WARPS];
    if (targets_failed(k)) return;
    long long r = blockIdx.y;
    int begin, end;
    chunk_range(k, blockIdx.x, &begin, &end);
    const void* row = row_at(k.logits, k.logitsType, r, k.logitsStride);
    int target = PROBS ? -1 : k.targets[r];
    RowAccum acc = accum_init();
    for_each_in_row(row, k.logitsType, begin, end, threadIdx.x, blockDim.x,
                    [&](int c, float x) { accum_add<PROBS>(acc, k, r, target, c, x); });
    acc.st = block_softmax(acc.st, stScratch);
    acc.am = block_argmax(acc.am, amScratch);
    acc.a = block_sum(acc.a, fScratch);
    acc.b = block_sum(acc.b, fScratch);
    if (threadIdx.x == 0) ((RowAccum*)k.splitPartials)[r * k.splits + blockIdx.x] = acc;
}

template <bool PROBS>
__device__ void ce_split_finish(const CeArgs& k) {
    if (targets_failed(k)) return;
    long long r = blockIdx.y;
    const RowAccum* chunks = (const RowAccum*)k.splitPartials + r * k.splits;
    RowAccum acc = accum_init();
    for (int s = 0; s < k.splits; s++) acc = accum_merge(acc, chunks[s]);
    RowResult res = row_result<PROBS>(k, r, acc);
    int begin, end;
    chunk_range(k, blockIdx.x, &begin, &end);
    if (k.grad != nullptr) gradient_pass<PROBS>(k, r, res, begin, end, threadIdx.x, blockDim.x);
    if (blockIdx.x == 0 && threadIdx.x == 0) {
        write_row_outputs(k, r, res, acc.am, 0.f);
        k.partials[r] = make_double2(res.loss, 0.0);
    }
}

extern "C" __global__ void lk_ce_index_warp(LK_CE_PARAMS) { ce_warp<false>(LK_CE_ARGS); }
extern "C" __global__ void lk_ce_index_block(LK_CE_PARAMS) { ce_block<false>(LK_CE_ARGS); }
extern "C" __global__ void lk_ce_index_split_accumulate(LK_CE_PARAMS) { ce_split_accumulate<false>(LK_CE_ARGS); }
extern "C" __global__ void lk_ce_index_split_finish(LK_CE_PARAMS) { ce_split_finish<false>(LK_CE_ARGS); }
extern "C" __global__ void lk_ce_probs_warp(LK_CE_PARAMS) { ce_warp<true>(LK_CE_ARGS); }
extern "C" __global__ void lk_ce_probs_block(LK_CE_PARAMS) { ce_block<true>(LK_CE_ARGS); }
extern "C" __global__ void lk_ce_probs_split_accumulate(LK_CE_PARAMS) { ce_split_accumulate<true>(LK_CE_ARGS); }
extern "C" __global__ void lk_ce_probs_split_finish(LK_CE_PARAMS) { ce_split_finish<true>(LK_CE_ARGS); }

// The host sizes buffers from these (org.losskit.cuda.CallStatus.BYTES, org.losskit.cuda.LaunchPlan.SPLIT_STATE_BYTES).
static_assert(sizeof(CallStatus) == 32, "CallStatus layout is mirrored by org.losskit.cuda.CallStatus");
static_assert(sizeof(RowAccum) == 24, "RowAccum size is mirrored by org.losskit.cuda.LaunchPlan.SPLIT_STATE_BYTES");
