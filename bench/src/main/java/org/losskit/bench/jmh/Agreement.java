package org.losskit.bench.jmh;

import org.losskit.ErrorBound;
import org.losskit.Op;

/**
 * The check every benchmark's {@code @Setup} runs before timing, as the JDK's Vector API benchmarks do: the kernel
 * under test must agree with the reference within the op's documented float32 bound, or the trial fails instead of
 * timing a wrong kernel.
 */
public final class Agreement {
    private Agreement() {}

    /** Throws when {@code value} is outside {@code op}'s loss bound around {@code exact}. */
    public static void requireLoss(String what, Op op, double value, double exact) {
        double fraction = op.float32Bound().lossErrorFraction(value, exact);
        if (!(fraction <= 1)) {
            throw new IllegalStateException(what + " disagrees with the reference: " + value + " against " + exact
                    + " (" + fraction + " of the " + op + " bound)");
        }
    }

    /** Throws when a gradient element is outside {@code op}'s gradient bound. */
    public static void requireGradient(String what, Op op, float[] gradient, float[] exact) {
        ErrorBound bound = op.float32Bound();
        double maxAbs = 0;
        for (float e : exact) maxAbs = Math.max(maxAbs, Math.abs(e));
        for (int i = 0; i < exact.length; i++) {
            double fraction = bound.gradientErrorFraction(gradient[i], exact[i], maxAbs);
            if (!(fraction <= 1)) {
                throw new IllegalStateException(what + " gradient[" + i + "] disagrees with the reference: " + gradient[i]
                        + " against " + exact[i] + " (" + fraction + " of the " + op + " bound)");
            }
        }
    }
}
