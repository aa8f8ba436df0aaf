package org.losskit;

/**
 * The catalogue of operations, each with the error bound every float32 backend (CPU, CUDA) guarantees against
 * the exact value for finite, well-scaled input: for the returned value and for every float32 output (gradient,
 * unreduced losses, diagnostics). The reference backend meets {@link ErrorBound#REFERENCE} for the values it
 * returns as {@code double}; its float32 outputs are those values rounded to float32 (half an ulp more, see
 * {@link ErrorBound#REFERENCE}). This is the one place the bounds are written; method javadoc refers here, and
 * tests read them from here.
 *
 * <p>Why these numbers: a float32 kernel rounds each exp, log and product (about 1 ulp, 6e-8 relative each) and
 * accumulates sums in float32 with several independent accumulators, so a row of {@code n} terms carries a relative
 * error around {@code sqrt(n)} ulp. The bounds leave headroom for n up to about 150k and for the cancellation in
 * {@code lse - z_y}, which costs an absolute error near one ulp of {@code lse}.
 */
public enum Op {
    CROSS_ENTROPY(new ErrorBound(2e-5, 2e-6, 1e-4, 2e-6)),
    /**
     * Near a perfect fit (p close to q') the gradient p_j sum w q' - w_j q'_j is a difference of nearly equal terms:
     * a float32 backend then errs by about one ulp of p_j, which is more than the bound relative to the tiny result.
     */
    CROSS_ENTROPY_PROBS(new ErrorBound(2e-5, 2e-6, 1e-4, 2e-6)),
    NLL(new ErrorBound(1e-6, 1e-7, 1e-6, 1e-7)),
    /**
     * The gradient is computed as s (1 - t) - pw t (1 - s), s = sigmoid(x): exact to a few ulp for hard targets. With
     * soft targets near the optimum the two terms nearly cancel and the error is about one ulp of the larger term.
     */
    BCE_WITH_LOGITS(new ErrorBound(1e-5, 1e-6, 1e-5, 1e-6)),
    SIGMOID_FOCAL(new ErrorBound(2e-5, 1e-6, 1e-4, 2e-6)),
    SOFTMAX_FOCAL(new ErrorBound(2e-5, 2e-6, 1e-4, 2e-6)),
    DICE(new ErrorBound(1e-5, 1e-6, 1e-4, 2e-6)),
    MSE(new ErrorBound(1e-5, 1e-7, 1e-6, 1e-7)),
    L1(new ErrorBound(1e-5, 1e-7, 1e-6, 1e-7)),
    SMOOTH_L1(new ErrorBound(1e-5, 1e-7, 1e-6, 1e-7)),
    HUBER(new ErrorBound(1e-5, 1e-7, 1e-6, 1e-7)),
    LOG_COSH(new ErrorBound(1e-5, 1e-6, 1e-5, 1e-6)),
    QUANTILE(new ErrorBound(1e-5, 1e-7, 1e-6, 1e-7)),
    HINGE(new ErrorBound(1e-5, 1e-7, 1e-6, 1e-7)),
    SQUARED_HINGE(new ErrorBound(1e-5, 1e-7, 1e-6, 1e-7)),
    MULTI_MARGIN(new ErrorBound(1e-5, 1e-7, 1e-5, 1e-7)),
    POISSON_NLL(new ErrorBound(1e-5, 1e-6, 1e-5, 1e-6)),
    GAUSSIAN_NLL(new ErrorBound(1e-5, 1e-6, 1e-5, 1e-6)),
    KL_DIV(new ErrorBound(1e-5, 1e-6, 1e-5, 1e-6)),
    PENALTY(new ErrorBound(1e-5, 1e-7, 1e-6, 1e-7)),
    /**
     * Whole-array and per-row reductions. {@code sum}, {@code mean}, {@code l1}, {@code dot} are compensated, so for
     * well-conditioned input the float32 rounding of the result is the float nearest to the exact value; the bound
     * below covers {@code logsumexp} and {@code l2}. {@code min}, {@code max}, {@code argmax} are exact.
     * {@code logsumexp = m + log S} takes S = sum exp(x - m) >= 1 from float32 exps and sums, so log S carries an
     * absolute error of a few float32 ulps of 1 whatever the size of the result; where m and log S nearly cancel
     * (a result near 0) only an absolute term covers it: 2e-6, as for cross-entropy's loss, whose lse is the same.
     */
    REDUCTION(new ErrorBound(1e-6, 2e-6, 0, 0));

    private final ErrorBound float32Bound;

    Op(ErrorBound float32Bound) {
        this.float32Bound = float32Bound;
    }

    /** The bound every float32 backend meets for this op. */
    public ErrorBound float32Bound() {
        return float32Bound;
    }
}
