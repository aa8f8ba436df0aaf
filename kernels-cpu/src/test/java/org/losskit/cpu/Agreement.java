package org.losskit.cpu;

import static org.junit.jupiter.api.Assertions.fail;

import org.losskit.ErrorBound;
import org.losskit.Matrix;

/** Assertions that a float32 result agrees with the reference within an op's documented bound. */
final class Agreement {
    private Agreement() {}

    static void loss(String what, ErrorBound bound, double actual, double expected) {
        if (!bound.lossWithin(actual, expected)) {
            fail(what + ": " + actual + " vs reference " + expected + " (uses " + bound.lossErrorFraction(actual, expected)
                    + " of the bound)");
        }
    }

    /** Every element of {@code actual} within the loss bound of {@code expected}. */
    static void losses(String what, ErrorBound bound, float[] actual, float[] expected) {
        for (int i = 0; i < expected.length; i++) loss(what + "[" + i + "]", bound, actual[i], expected[i]);
    }

    /** A gradient array, against the largest |expected| of the whole array. */
    static void gradient(String what, ErrorBound bound, float[] actual, float[] expected) {
        double max = 0;
        for (float e : expected) if (Float.isFinite(e)) max = Math.max(max, Math.abs(e));
        for (int i = 0; i < expected.length; i++) {
            if (!bound.gradientWithin(actual[i], expected[i], max)) {
                fail(what + "[" + i + "]: " + actual[i] + " vs reference " + expected[i] + " (max |g| " + max + ", uses "
                        + bound.gradientErrorFraction(actual[i], expected[i], max) + " of the bound)");
            }
        }
    }

    static void exact(String what, float[] actual, float[] expected) {
        for (int i = 0; i < expected.length; i++) {
            if (Float.compare(actual[i], expected[i]) != 0 && !(actual[i] == expected[i])) {
                fail(what + "[" + i + "]: " + actual[i] + " vs reference " + expected[i]);
            }
        }
    }

    static float[] values(Matrix m) {
        float[] out = new float[Math.toIntExact(m.size())];
        for (int i = 0; i < out.length; i++) out[i] = m.getFloat(i);
        return out;
    }
}
