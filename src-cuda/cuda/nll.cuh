// Negative log-likelihood on log-probabilities (ReferenceBackend#nll): row loss -w_y logp[r, y], 0 for ignored
// rows; dl/dlogp[r, c] = -w_y [c = y] times the reduction's scale (for MEAN 1 / sum of w_y over rows not ignored,
// which lk_ce_check_targets puts in the call status). A gather, so the element grid of lk_pointwise: blockIdx.y
// strides over rows, blockIdx.x/threadIdx.x over the columns of the gradient (one column when no gradient is asked).
// The row's loss is taken by the thread of column y (column 0 for ignored rows and without a gradient): in place,
// that thread reads logp[r, y] before it writes the gradient there, so nothing races.
#pragma once
#include "common.cuh"
#include "cross_entropy.cuh"
#include "elementwise.cuh"

extern "C" __global__ void lk_nll(const void* logProbs, int logProbsType, long long logProbsStride, int rows, int cols,
                                  const int* targets, const float* classWeights, int ignoreIndex, int scaleMode,
                                  float scale, float* grad, long long gradStride, float* losses,
                                  const CallStatus* status, double2* partials) {
    __shared__ double scratch[LK_MAX_WARPS];
    if (status->badTarget != LK_NO_BAD_TARGET) return;
    float gradientScale = scaleMode == LK_SCALE_BY_TARGET_WEIGHT ? (float)(1.0 / status->targetWeightSum) : scale;
    int span = grad == nullptr ? 1 : cols;
    KahanSum total{0.f, 0.f};
    for (long long r = blockIdx.y; r < rows; r += gridDim.y) {
        int y = targets[r];
        bool ignored = y == ignoreIndex;
        float wy = ignored ? 0.f : classWeights == nullptr ? 1.f : classWeights[y];
        int owner = ignored || grad == nullptr ? 0 : y;
        for (long long c = (long long)blockIdx.x * blockDim.x + threadIdx.x; c < span; c += (long long)gridDim.x * blockDim.x) {
            if (c == owner) {
                float loss = ignored ? 0.f : -wy * load_elem(logProbs, logProbsType, r * logProbsStride + y);
                kahan_add(total, loss);
                if (losses != nullptr) losses[r] = loss;
            }
            if (grad != nullptr) grad[r * gradStride + c] = c == y && !ignored ? -wy * gradientScale : 0.f;
        }
    }
    double blockTotal = block_sum_d((double)total.sum - (double)total.compensation, scratch);
    if (threadIdx.x == 0) partials[blockIdx.y * gridDim.x + blockIdx.x] = make_double2(blockTotal, 0.0);
}
