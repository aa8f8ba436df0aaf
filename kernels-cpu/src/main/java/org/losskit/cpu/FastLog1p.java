package org.losskit.cpu;

import static org.losskit.cpu.VectorShapes.FLOATS;

import jdk.incubator.vector.FloatVector;

/**
 * {@code log1p(e)} for {@code e} in [0, 1] (or NaN), the only arguments the stable softplus and log-cosh forms pass
 * ({@code e = exp(-|x|)}), inlined into the kernels instead of the JDK's SVML call, whose results depend on
 * whether the code runs compiled or interpreted (see FastExp).
 *
 * <p>Method: with {@code s = e / (2 + e)} in [0, 1/3], {@code log1p(e) = 2 atanh(s) = 2 (s + s^3/3 + s^5/5 + ...)};
 * the series is cut after {@code s^13 / 13}, whose successor is below 2^-29 of the result on [0, 1/3]. The result
 * keeps its relative accuracy for tiny e (no {@code 1 + e} is ever formed). Measured by {@code FastLog1pTest} over
 * 4 million evenly spaced points of [0, 1]: at most 1.99 ulp from the exact value; the test enforces 2.5.
 */
final class FastLog1p {
    /** The error bound FastLog1pTest enforces, in ulps of the exact result. */
    static final double MAX_ULP_ERROR = 2.5;

    private FastLog1p() {}

    /** {@code out[i] = log1p(in[i])} for i in [0, n), each in [0, 1]; the loop holds the whole series (see FastExp#expBlock). */
    static void log1pBlock(float[] in, int n, float[] out) {
        int i = 0;
        for (int bound = FLOATS.loopBound(n); i < bound; i += FLOATS.length()) {
            FloatVector e = FloatVector.fromArray(FLOATS, in, i);
            FloatVector s = e.div(e.add(2f));
            FloatVector s2 = s.mul(s);
            // 2 (1 + s^2/3 + s^4/5 + ... + s^12/13) s, Horner in s^2
            FloatVector series = s2.fma(2f / 13, 2f / 11).fma(s2, FloatVector.broadcast(FLOATS, 2f / 9))
                    .fma(s2, FloatVector.broadcast(FLOATS, 2f / 7)).fma(s2, FloatVector.broadcast(FLOATS, 2f / 5))
                    .fma(s2, FloatVector.broadcast(FLOATS, 2f / 3)).fma(s2, FloatVector.broadcast(FLOATS, 2f));
            series.mul(s).intoArray(out, i);
        }
        for (; i < n; i++) out[i] = log1pOfUnit(in[i]);
    }

    static float log1pOfUnit(float e) {
        float s = e / (e + 2f);
        float s2 = s * s;
        float series = Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(s2, 2f / 13, 2f / 11), s2, 2f / 9), s2, 2f / 7),
                s2, 2f / 5), s2, 2f / 3), s2, 2f);
        return series * s;
    }
}
