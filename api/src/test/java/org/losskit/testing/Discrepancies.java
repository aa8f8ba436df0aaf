package org.losskit.testing;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;

import org.losskit.ErrorBound;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * Collects every value that falls outside an {@link ErrorBound}, each with what was compared and where, and
 * fails once at the end with all of them, so one run shows the whole pattern of a bug rather than its first
 * symptom.
 */
public final class Discrepancies {
    private static final int SHOWN = 25;

    private final List<String> found = new ArrayList<>();
    private int count;
    private double worstFraction;

    /** Records a failure that is not a numeric comparison (an exception, a wrong index): infinitely far off. */
    public void add(String description) {
        worstFraction = Double.POSITIVE_INFINITY;
        record(description);
    }

    private void record(String description) {
        count++;
        if (found.size() < SHOWN) found.add(description);
    }

    /** Notes how much of its tolerance one comparison used; returns whether it is within (at most 1). */
    private boolean within(double fraction) {
        worstFraction = Math.max(worstFraction, fraction);
        return fraction <= 1;
    }

    /** A scalar loss against its exact value. */
    public void loss(String where, ErrorBound bound, double actual, double exact) {
        double fraction = bound.lossErrorFraction(actual, exact);
        if (!within(fraction)) {
            record(where + ": got " + actual + ", exact " + exact + " (" + errorText(fraction) + ")");
        }
    }

    /**
     * A loss stored as float32 (a per-row or per-element output) against its exact value. A float32 output
     * cannot be closer to the exact value than the float32 rounding of it, so on top of the bound it may be off
     * by half an ulp of the exact value in float32; that allowance only matters for the float64 reference.
     */
    public void storedLoss(String where, ErrorBound bound, float actual, double exact) {
        double tolerance = bound.lossAbsolute() + bound.lossRelative() * Math.abs(exact) + halfFloatUlp(exact);
        double fraction = fraction(actual, exact, tolerance);
        if (!within(fraction)) {
            record(where + ": got " + actual + ", exact " + exact + " (" + errorText(fraction) + ")");
        }
    }

    /** Unreduced losses (by flat index, stored as float32) against their exact values. */
    public void losses(String where, ErrorBound bound, float[] actual, double[] exact) {
        if (actual.length < exact.length) {
            add(where + ": " + actual.length + " values written, " + exact.length + " expected");
            return;
        }
        for (int i = 0; i < exact.length; i++) storedLoss(where + "[" + i + "]", bound, actual[i], exact[i]);
    }

    /**
     * A float32 gradient array (dense, row-major) against its exact values: errors scale with the largest
     * |exact|, plus half a float32 ulp of each exact value for the storage rounding (see {@link #storedLoss}).
     */
    public void gradient(String where, ErrorBound bound, float[] actual, double[] exact, int cols) {
        gradient(where, bound, actual, exact, cols, 0);
    }

    /**
     * As {@link #gradient(String, ErrorBound, float[], double[], int)}, with {@code exactError} added to every
     * tolerance: the absolute error of the "exact" values themselves, where they come from a float64 computation
     * that is not exact (the golden files).
     */
    public void gradient(String where, ErrorBound bound, float[] actual, double[] exact, int cols, double exactError) {
        double maxAbs = maxAbsFinite(exact);
        for (int i = 0; i < exact.length; i++) {
            double tolerance = bound.gradientOfMax() * maxAbs + bound.gradientRelative() * Math.abs(exact[i])
                    + halfFloatUlp(exact[i]) + exactError;
            double fraction = fraction(actual[i], exact[i], tolerance);
            if (!within(fraction)) {
                record(where + "[" + position(i, cols) + "]: got " + actual[i] + ", exact " + exact[i] + " (max |exact| "
                        + maxAbs + ", " + errorText(fraction) + ")");
            }
        }
    }

    /** Half the float32 ulp at {@code exact}: the most that rounding an exact value to float32 can move it. */
    public static double halfFloatUlp(double exact) {
        return Double.isFinite(exact) ? 0.5 * Math.ulp((float) exact) : 0;
    }

    /** The same NaN/infinity rules as {@link ErrorBound}: NaN matches NaN, infinities match exactly. */
    private static double fraction(double actual, double exact, double tolerance) {
        if (Double.isNaN(exact) || Double.isNaN(actual)) return Double.isNaN(exact) && Double.isNaN(actual) ? 0 : Double.POSITIVE_INFINITY;
        if (Double.isInfinite(exact) || Double.isInfinite(actual)) return actual == exact ? 0 : Double.POSITIVE_INFINITY;
        double error = Math.abs(actual - exact);
        if (error == 0) return 0;
        return tolerance == 0 ? Double.POSITIVE_INFINITY : error / tolerance;
    }

    /** Values that must be equal (indices, exactly rounded results). */
    public void equal(String where, Object actual, Object expected) {
        if (!actual.equals(expected)) add(where + ": got " + actual + ", expected " + expected);
    }

    public boolean isEmpty() {
        return count == 0;
    }

    /** How many discrepancies were found. */
    public int count() {
        return count;
    }

    /**
     * The largest fraction of its tolerance any comparison used: 0 exact, 1 at the bound, above 1 outside it,
     * infinite for a mismatch in kind (NaN, infinity) or a failure recorded with {@link #add}. Exact-equality checks
     * ({@link #equal}) count 0 when equal.
     */
    public double worstFraction() {
        return worstFraction;
    }

    /** The first discrepancies found (at most {@value #SHOWN}), each with where and what. */
    public List<String> shown() {
        return List.copyOf(found);
    }

    /**
     * Fails listing the discrepancies found (the first {@value #SHOWN} of them) under {@code heading}. The only
     * method here that uses JUnit: callers without JUnit on the class path (the bench report) never call it.
     */
    public void assertNone(String heading) {
        if (count == 0) return;
        fail(heading + ": " + count + " discrepancies" + (count > found.size() ? " (first " + found.size() + " shown)" : "")
                + "\n  " + String.join("\n  ", found));
    }

    /** The largest |v| over the finite values (0 when none is finite). */
    public static double maxAbsFinite(double[] values) {
        double max = 0;
        for (double v : values) if (Double.isFinite(v)) max = Math.max(max, Math.abs(v));
        return max;
    }

    /** The exact sum of finite values (BigDecimal), or the IEEE sum when any value is NaN or infinite. */
    public static double exactSum(double[] values) {
        BigDecimal sum = BigDecimal.ZERO;
        double plain = 0;
        boolean allFinite = true;
        for (double v : values) {
            plain += v;
            if (Double.isFinite(v)) sum = sum.add(new BigDecimal(v));
            else allFinite = false;
        }
        return allFinite ? sum.doubleValue() : plain;
    }

    private static String position(int flat, int cols) {
        return cols <= 1 ? Integer.toString(flat) : (flat / cols) + ", " + (flat % cols);
    }

    private static String errorText(double fraction) {
        return Double.isInfinite(fraction) ? "mismatch in kind (NaN/inf/zero tolerance)" : String.format("%.3g x the bound", fraction);
    }
}
