package org.losskit;

/**
 * A documented error bound against the exact (float64) value, in the form tests enforce.
 *
 * <p>A returned or per-element loss {@code v} with exact value {@code e} is within the bound when
 * {@code |v - e| <= lossAbsolute + lossRelative * |e|}. A gradient element {@code g} of a gradient array whose
 * exact values are {@code E} is within the bound when
 * {@code |g - e| <= gradientOfMax * max|E| + gradientRelative * |e|}: errors in a softmax gradient scale with the
 * largest element, not with the (often tiny) element itself. NaN must match NaN and infinities must match exactly.
 */
public record ErrorBound(double lossRelative, double lossAbsolute, double gradientRelative, double gradientOfMax) {

    /**
     * The bound of the float64 reference backend: exact up to double rounding over long sums. It covers the values
     * the reference computes and returns as {@code double}: the return value of every call (reduced losses,
     * whole-array reductions, dot). What the reference writes into caller buffers is float32 (gradients, unreduced
     * losses, diagnostics, per-row reductions): the same double rounded to the nearest float, so such a value
     * carries half an ulp of float32 storage on top, a relative error up to 2^-24 (6e-8), which this bound does
     * not cover. Tests of float32 outputs against exact values allow that rounding explicitly.
     */
    public static final ErrorBound REFERENCE = new ErrorBound(1e-9, 1e-12, 1e-9, 1e-12);

    /** True when {@code value} is within the loss bound of {@code exact}. */
    public boolean lossWithin(double value, double exact) {
        return within(value, exact, lossAbsolute + lossRelative * Math.abs(exact));
    }

    /** True when gradient element {@code value} is within the bound, {@code maxAbsExact} the largest |exact|. */
    public boolean gradientWithin(double value, double exact, double maxAbsExact) {
        return within(value, exact, gradientOfMax * maxAbsExact + gradientRelative * Math.abs(exact));
    }

    /** How much of the loss bound {@code value} uses: 0 is exact, 1 is at the bound, above 1 is outside. */
    public double lossErrorFraction(double value, double exact) {
        return fraction(value, exact, lossAbsolute + lossRelative * Math.abs(exact));
    }

    /** How much of the gradient bound {@code value} uses. */
    public double gradientErrorFraction(double value, double exact, double maxAbsExact) {
        return fraction(value, exact, gradientOfMax * maxAbsExact + gradientRelative * Math.abs(exact));
    }

    private static boolean within(double value, double exact, double tolerance) {
        return fraction(value, exact, tolerance) <= 1.0;
    }

    private static double fraction(double value, double exact, double tolerance) {
        if (Double.isNaN(exact) || Double.isNaN(value)) return Double.isNaN(exact) && Double.isNaN(value) ? 0 : Double.POSITIVE_INFINITY;
        if (Double.isInfinite(exact) || Double.isInfinite(value)) return value == exact ? 0 : Double.POSITIVE_INFINITY;
        double error = Math.abs(value - exact);
        if (error == 0) return 0;
        return tolerance == 0 ? Double.POSITIVE_INFINITY : error / tolerance;
    }
}
