// Element-wise losses (MSE, L1, smooth L1, Huber, log-cosh, quantile, hinge, squared hinge, Poisson NLL,
// BCE-with-logits, sigmoid focal) in one kernel: the loss kind is a launch parameter, uniform across the grid,
// so the switch costs no divergence. Formulas are those of ReferenceBackend#elementLoss with d = x - t; each
// element gives (value, slope = d value / d x), both multiplied by the optional element weight w; the gradient is
// scale * w * slope. Grid: blockIdx.y strides over rows, blockIdx.x/threadIdx.x over columns (coalesced scalar
// loads: three operands with independent alignment). Each block writes the sum of its losses to partials in a
// fixed order; the host adds the partials in block order.
#pragma once
#include "common.cuh"

// Loss kinds: the order of org.losskit.cuda.PointwiseKind.
#define LK_MSE 0
#define LK_L1 1
#define LK_SMOOTH_L1 2
#define LK_HUBER 3
#define LK_LOG_COSH 4
#define LK_QUANTILE 5
#define LK_HINGE 6
#define LK_SQUARED_HINGE 7
#define LK_POISSON_NLL 8
#define LK_BCE_WITH_LOGITS 9
#define LK_SIGMOID_FOCAL 10
// Flags of Poisson NLL.
#define LK_FLAG_LOG_INPUT 1
#define LK_FLAG_FULL 2

// sign(d) with sign(0) = 0 and NaN kept, as Math.signum.
__device__ __forceinline__ float signum(float d) { return d > 0.f ? 1.f : d < 0.f ? -1.f : d; }

// Logistic sigmoid without overflow on either side.
__device__ __forceinline__ float sigmoid(float x) {
    if (x >= 0.f) return 1.f / (1.f + expf(-x));
    float e = expf(x);
    return e / (1.f + e);
}

// softplus(-x) = log(1 + exp(-x)) = log1p(exp(-|x|)) + max(-x, 0), stable for any x.
__device__ __forceinline__ float softplus_of_negative(float x) { return log1pf(expf(-fabsf(x))) + fmaxf(-x, 0.f); }

// (value, slope) of one element. p1, p2: beta | delta | tau | eps | (alpha, gamma); posWeight: pw of BCE.
__device__ __forceinline__ float2 element_loss(int kind, float x, float t, float p1, float p2, int flags, float pw) {
    float d = x - t;
    switch (kind) {
        case LK_MSE: return make_float2(d * d, 2.f * d); // d^2, 2d
        case LK_L1: return make_float2(fabsf(d), signum(d)); // |d|, sign d (0 at 0)
        case LK_SMOOTH_L1: {
            // |d| < beta: 0.5 d^2 / beta (slope d / beta); else |d| - 0.5 beta (slope sign d); beta = 0 is L1
            if (fabsf(d) < p1) return make_float2(0.5f * d * d / p1, d / p1);
            return make_float2(fabsf(d) - 0.5f * p1, signum(d));
        }
        case LK_HUBER: {
            // |d| < delta: 0.5 d^2 (slope d); else delta (|d| - 0.5 delta) (slope delta sign d)
            if (fabsf(d) < p1) return make_float2(0.5f * d * d, d);
            return make_float2(p1 * (fabsf(d) - 0.5f * p1), p1 * signum(d));
        }
        case LK_LOG_COSH: {
            // log cosh d = |d| + log1p(exp(-2|d|)) - log 2 (no overflow for large |d|); slope tanh d
            float a = fabsf(d);
            return make_float2(a + log1pf(expf(-2.f * a)) - LK_LN2, tanhf(d));
        }
        case LK_QUANTILE: {
            // u = t - x; max(tau u, (tau - 1) u); slope -tau (u > 0), 1 - tau (u < 0), 1/2 - tau at u = 0 (PyTorch)
            float u = t - x;
            float slope = u > 0.f ? -p1 : u < 0.f ? 1.f - p1 : 0.5f - p1;
            return make_float2(fmaxf(p1 * u, (p1 - 1.f) * u), slope);
        }
        case LK_HINGE: {
            // v = 1 - t x; max(0, v); slope -t where v > 0
            float v = 1.f - t * x;
            return make_float2(fmaxf(0.f, v), v > 0.f ? -t : 0.f);
        }
        case LK_SQUARED_HINGE: {
            // max(0, 1 - t x)^2; slope -2 t max(0, 1 - t x)
            float v = fmaxf(0.f, 1.f - t * x);
            return make_float2(v * v, -2.f * t * v);
        }
        case LK_POISSON_NLL: {
            float value, slope;
            if (flags & LK_FLAG_LOG_INPUT) {
                // exp(x) - t x; slope exp(x) - t
                float ex = expf(x);
                value = ex - t * x;
                slope = ex - t;
            } else {
                // x - t log(x + eps); slope 1 - t / (x + eps)
                value = x - t * logf(x + p1);
                slope = 1.f - t / (x + p1);
            }
            // Stirling's log(t!) ~ t log t - t + 0.5 log(2 pi t), where t > 1
            if ((flags & LK_FLAG_FULL) && t > 1.f) value += t * logf(t) - t + 0.5f * logf(6.283185307179586f * t);
            return make_float2(value, slope);
        }
        case LK_BCE_WITH_LOGITS: {
            // (1 - t) x + k softplus(-x), k = 1 + (pw - 1) t; slope sigmoid(x) k - pw t
            float k = 1.f + (pw - 1.f) * t;
            return make_float2((1.f - t) * x + k * softplus_of_negative(x), sigmoid(x) * k - pw * t);
        }
        case LK_SIGMOID_FOCAL: {
            // torchvision: ce = BCE(x, t), p_t = p t + (1-p)(1-t), loss = alpha_t ce (1 - p_t)^gamma, with
            // dce/dx = p - t and d(1 - p_t)^g/dx = -g (1 - p_t)^(g-1) (2t - 1) p (1 - p); alpha < 0: alpha_t = 1
            float alpha = p1, gamma = p2;
            float p = sigmoid(x);
            float ce = (1.f - t) * x + softplus_of_negative(x);
            float oneMinusPt = 1.f - (p * t + (1.f - p) * (1.f - t));
            float modulator = powf(oneMinusPt, gamma);
            float modulatorSlope = gamma == 0.f ? 0.f : -gamma * powf(oneMinusPt, gamma - 1.f) * (2.f * t - 1.f) * p * (1.f - p);
            float alphaT = alpha >= 0.f ? alpha * t + (1.f - alpha) * (1.f - t) : 1.f;
            return make_float2(alphaT * ce * modulator, alphaT * ((p - t) * modulator + ce * modulatorSlope));
        }
    }
    return make_float2(__int_as_float(0x7fc00000), __int_as_float(0x7fc00000));
}

// Kahan-compensated float32 running sum: s + c carries about twice float32 precision.
struct KahanSum {
    float sum;
    float compensation;
};
__device__ __forceinline__ void kahan_add(KahanSum& k, float v) {
    float y = v - k.compensation;
    float t = k.sum + y;
    k.compensation = (t - k.sum) - y;
    k.sum = t;
}

extern "C" __global__ void lk_pointwise(int kind, float p1, float p2, int flags,
                                        const void* input, int inputType, long long inputStride,
                                        const void* target, int targetType, long long targetStride,
                                        const void* weight, int weightType, long long weightStride,
                                        const float* posWeight, int rows, int cols,
                                        float* grad, long long gradStride, float* losses, float scale,
                                        double2* partials) {
    __shared__ double scratch[LK_MAX_WARPS];
    KahanSum total{0.f, 0.f};
    for (long long r = blockIdx.y; r < rows; r += gridDim.y) {
        for (long long c = (long long)blockIdx.x * blockDim.x + threadIdx.x; c < cols; c += (long long)gridDim.x * blockDim.x) {
            float x = load_elem(input, inputType, r * inputStride + c);
            float t = load_elem(target, targetType, r * targetStride + c);
            float w = load_or(weight, weightType, r * weightStride + c, 1.f);
            float pw = posWeight == nullptr ? 1.f : posWeight[c];
            float2 vs = element_loss(kind, x, t, p1, p2, flags, pw);
            float value = w * vs.x;
            kahan_add(total, value);
            if (losses != nullptr) losses[r * cols + c] = value;
            if (grad != nullptr) grad[r * gradStride + c] = scale * w * vs.y;
        }
    }
    double blockTotal = block_sum_d((double)total.sum - (double)total.compensation, scratch);
    if (threadIdx.x == 0) partials[blockIdx.y * gridDim.x + blockIdx.x] = make_double2(blockTotal, 0.0);
}
