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
    BATCHMEAN
}
