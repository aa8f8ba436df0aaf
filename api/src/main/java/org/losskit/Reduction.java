package org.losskit;

/**
 * How per-element (or per-row) losses become the value a loss call returns. Whatever the reduction,
 * the gradient a call writes is the gradient of the value it returns.
 */
public enum Reduction {
    /** Losses are written per element or per row; the call returns their sum (whose gradient is written). */
    NONE,
    /** The average; for class-index cross-entropy and NLL the PyTorch weighted mean (see those methods). */
    MEAN,
    /** The sum. */
    SUM,
    /** The sum divided by the number of rows, as PyTorch's {@code kl_div(reduction='batchmean')}. */
    BATCHMEAN;

    /**
     * The factor that turns per-element derivatives into the gradient of the returned value: 1 for NONE and SUM,
     * 1 / count for MEAN, 1 / rows for BATCHMEAN. {@code count} is the divisor of MEAN (elements, rows, or the summed
     * target weights of cross-entropy).
     */
    public double gradientScale(double count, long rows) {
        return switch (this) {
            case NONE, SUM -> 1;
            case MEAN -> 1 / count;
            case BATCHMEAN -> 1.0 / rows;
        };
    }

    /** The returned value from the sum of the unreduced losses, with the same divisors as {@link #gradientScale}. */
    public double reduce(double sum, double count, long rows) {
        return switch (this) {
            case NONE, SUM -> sum;
            case MEAN -> sum / count;
            case BATCHMEAN -> sum / rows;
        };
    }
}
