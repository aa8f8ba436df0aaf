package org.losskit;

/** Whole-array and per-row reductions of float data. Argmax and dot have their own engine methods. */
public enum ReduceOp {
    /** Compensated sum: rounded to float32, the float nearest the exact sum for well-conditioned input. */
    SUM,
    /** {@code SUM / n}; NaN for no elements. */
    MEAN,
    /** Smallest element; NaN if any element is NaN; +Inf for no elements. */
    MIN,
    /** Largest element; NaN if any element is NaN; -Inf for no elements. */
    MAX,
    /** {@code log sum exp(x)} with a max shift; -Inf for no elements or all -Inf. */
    LOGSUMEXP,
    /** {@code sum |x|}. */
    L1_NORM,
    /** {@code sqrt(sum x^2)}, scaled so it neither overflows nor underflows early. */
    L2_NORM
}
