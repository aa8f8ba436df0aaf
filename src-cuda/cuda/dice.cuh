// Soft Dice from logits, one loss per row (ReferenceBackend#dice): s = sigmoid(x),
//   N = 2 sum(s t) + smooth, D = sum(s) + sum(t) + smooth, l = 1 - N / D,
//   dl/dx_j = -(2 t_j D - N) / D^2 * s_j (1 - s_j), times the reduction's scale.
// Shapes as cross-entropy: a warp per row for short rows, a block per row for long ones.
#pragma once
#include "common.cuh"
#include "elementwise.cuh"

struct DiceArgs {
    const void* logits; int logitsType; long long logitsStride;
    const void* target; int targetType; long long targetStride;
    int rows; int cols; float smooth;
    float* grad; long long gradStride; float* losses; float scale; double2* partials;
};
#define LK_DICE_PARAMS                                                                                          \
    const void *logits, int logitsType, long long logitsStride, const void *target, int targetType,             \
        long long targetStride, int rows, int cols, float smooth, float *grad, long long gradStride,            \
        float *losses, float scale, double2 *partials
#define LK_DICE_ARGS                                                                                            \
    DiceArgs {                                                                                                  \
        logits, logitsType, logitsStride, target, targetType, targetStride, rows, cols, smooth, grad, gradStride, \
            losses, scale, partials                                                                             \
    }

// Sums of one worker's columns: (sum s t, sum s, sum t).
__device__ __forceinline__ float3 dice_sums(const DiceArgs& k, long long r, int worker, int workers) {
    float3 sums = make_float3(0.f, 0.f, 0.f);
    const void* row = row_at(k.logits, k.logitsType, r, k.logitsStride);
    for_each_in_row(row, k.logitsType, 0, k.cols, worker, workers, [&](int c, float x) {
        float s = sigmoid(x);
        float t = load_elem(k.target, k.targetType, r * k.targetStride + c);
        sums.x += s * t;
        sums.y += s;
        sums.z += t;
    });
    return sums;
}

__device__ __forceinline__ float dice_finish(const DiceArgs& k, long long r, float3 sums, int worker, int workers) {
    float numerator = 2.f * sums.x + k.smooth;
    float denominator = sums.y + sums.z + k.smooth;
    float loss = 1.f - numerator / denominator;
    if (k.grad != nullptr) {
        float* g = k.grad + r * k.gradStride;
        float inverseSquare = 1.f / (denominator * denominator);
        for (int c = worker; c < k.cols; c += workers) {
            float x = load_elem(k.logits, k.logitsType, r * k.logitsStride + c);
            float t = load_elem(k.target, k.targetType, r * k.targetStride + c);
            float s = sigmoid(x);
            g[c] = k.scale * (-(2.f * t * denominator - numerator) * inverseSquare) * s * (1.f - s);
        }
    }
    return loss;
}

extern "C" __global__ void lk_dice_warp(LK_DICE_PARAMS) {
    DiceArgs k = LK_DICE_ARGS;
    __shared__ double warpLoss[LK_MAX_WARPS];
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warpsPerBlock = blockDim.x >> 5;
    double myLoss = 0.0;
    for (long long r = (long long)blockIdx.x * warpsPerBlock + warp; r < k.rows; r += (long long)gridDim.x * warpsPerBlock) {
        float3 s = dice_sums(k, r, lane, 32);
        s = make_float3(warp_sum(s.x), warp_sum(s.y), warp_sum(s.z));
        float loss = dice_finish(k, r, s, lane, 32);
        if (lane == 0) {
            if (k.losses != nullptr) k.losses[r] = loss;
            myLoss += loss;
        }
    }
    if (lane == 0) warpLoss[warp] = myLoss;
    __syncthreads();
    if (threadIdx.x == 0) {
        double sum = 0.0;
        for (int w = 0; w < warpsPerBlock; w++) sum += warpLoss[w];
        k.partials[blockIdx.x] = make_double2(sum, 0.0);
    }
}

extern "C" __global__ void lk_dice_block(LK_DICE_PARAMS) {
    DiceArgs k = LK_DICE_ARGS;
    __shared__ float scratch[LK_MAX_WARPS];
    double blockLoss = 0.0;
    for (long long r = blockIdx.x; r < k.rows; r += gridDim.x) {
        float3 s = dice_sums(k, r, threadIdx.x, blockDim.x);
        s = make_float3(block_sum(s.x, scratch), block_sum(s.y, scratch), block_sum(s.z, scratch));
        float loss = dice_finish(k, r, s, threadIdx.x, blockDim.x);
        if (threadIdx.x == 0) {
            if (k.losses != nullptr) k.losses[r] = loss;
            blockLoss += loss;
        }
    }
    if (threadIdx.x == 0) k.partials[blockIdx.x] = make_double2(blockLoss, 0.0);
}
