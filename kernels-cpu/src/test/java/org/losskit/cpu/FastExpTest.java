package org.losskit.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigDecimal;

import org.junit.jupiter.api.Test;

/** FastExp against StrictMath.exp over every float in [UNDERFLOW, 0], vector and scalar, and its special values. */
class FastExpTest {

    /** ulps between a float result and the exact value (StrictMath.exp in double is exact to well below a float ulp). */
    private static double ulps(float actual, double exact) {
        return Math.abs(actual - exact) / Math.ulp((float) exact);
    }

    @Test
    void everyFloatInRangeIsWithinTheDocumentedBound() {
        int lanes = VectorShapes.lanes();
        float[] in = new float[lanes];
        float[] out = new float[lanes];
        double worstVector = 0;
        double worstScalar = 0;
        // Floats from 0 down to UNDERFLOW: all 1.1e9 take too long for a unit test, so every 64th bit pattern.
        int from = Float.floatToRawIntBits(-0f) + 1;
        int to = Float.floatToRawIntBits(FastExp.UNDERFLOW);
        int k = 0;
        for (int bits = from; bits <= to; bits += 64) {
            in[k++] = Float.intBitsToFloat(bits);
            if (k == lanes) {
                FastExp.expBlock(in, 0, lanes, 0f, out);
                for (int i = 0; i < lanes; i++) {
                    double exact = StrictMath.exp(in[i]);
                    worstVector = Math.max(worstVector, ulps(out[i], exact));
                    worstScalar = Math.max(worstScalar, ulps(FastExp.expNonPositive(in[i]), exact));
                }
                k = 0;
            }
        }
        System.out.println("FastExp max error: vector " + worstVector + " ulp, scalar " + worstScalar + " ulp");
        assertTrue(worstVector <= FastExp.MAX_ULP_ERROR, "vector exp error " + worstVector + " ulp");
        assertTrue(worstScalar <= FastExp.MAX_ULP_ERROR, "scalar exp error " + worstScalar + " ulp");
    }

    @Test
    void expAnyOverTheWholeRangeIsWithinTheDocumentedBoundAndEqualsExpBlockBelowZero() {
        int lanes = VectorShapes.lanes();
        float[] in = new float[lanes];
        float[] out = new float[lanes];
        float[] nonPositive = new float[lanes];
        double worstVector = 0;
        double worstScalar = 0;
        // Every 64th float of [UNDERFLOW, OVERFLOW]: the negative half, then the positive half.
        int[][] ranges = {{Float.floatToRawIntBits(-0f) + 1, Float.floatToRawIntBits(FastExp.UNDERFLOW)},
                {0, Float.floatToRawIntBits(FastExp.OVERFLOW)}};
        for (int[] range : ranges) {
            int k = 0;
            for (int bits = range[0]; bits <= range[1]; bits += 64) {
                in[k++] = Float.intBitsToFloat(bits);
                if (k == lanes) {
                    FastExp.expAnyBlock(in, 0, lanes, 1f, out);
                    if (in[0] <= 0) {
                        FastExp.expBlock(in, 0, lanes, 0f, nonPositive);
                        for (int i = 0; i < lanes; i++) assertEquals(Float.floatToRawIntBits(nonPositive[i]), Float.floatToRawIntBits(out[i]),
                                "expAny and expBlock differ at " + in[i]);
                    }
                    for (int i = 0; i < lanes; i++) {
                        double exact = StrictMath.exp(in[i]);
                        float scalar = FastExp.expAny(in[i]);
                        assertEquals(Float.floatToRawIntBits(out[i]), Float.floatToRawIntBits(scalar), "vector and scalar differ at " + in[i]);
                        worstVector = Math.max(worstVector, ulps(out[i], exact));
                        worstScalar = Math.max(worstScalar, ulps(scalar, exact));
                    }
                    k = 0;
                }
            }
        }
        System.out.println("FastExp.expAny max error: vector " + worstVector + " ulp, scalar " + worstScalar + " ulp");
        assertTrue(worstVector <= FastExp.MAX_ULP_ERROR, "vector expAny error " + worstVector + " ulp");
        assertTrue(worstScalar <= FastExp.MAX_ULP_ERROR, "scalar expAny error " + worstScalar + " ulp");
        float[] special = {Float.POSITIVE_INFINITY, 88.8f, 88.72f, 88.1f, Float.NEGATIVE_INFINITY, -88f, Float.NaN, 0f, -0f};
        float[] expected = {Float.POSITIVE_INFINITY, Float.POSITIVE_INFINITY, (float) StrictMath.exp(88.72f), (float) StrictMath.exp(88.1f),
                0f, 0f, Float.NaN, 1f, 1f};
        float[] block = new float[lanes];
        for (int i = 0; i < special.length; i++) {
            java.util.Arrays.fill(block, special[i]);
            FastExp.expAnyBlock(block, 0, lanes, 1f, block);
            for (float v : new float[] {block[0], FastExp.expAny(special[i])}) {
                if (Float.isNaN(expected[i]) || Float.isInfinite(expected[i]) || expected[i] == 0 || expected[i] == 1) {
                    assertEquals(expected[i], v, "exp(" + special[i] + ")");
                } else {
                    assertTrue(ulps(v, StrictMath.exp(special[i])) <= FastExp.MAX_ULP_ERROR, "exp(" + special[i] + ") = " + v);
                }
            }
        }
    }

    /**
     * The segment loop writes the polynomial out again (see FastExp): the same bits as the array loop, and the same
     * sum, over arguments that hit the underflow, -inf, NaN, both zeros and a scalar tail, from an unaligned offset.
     */
    @Test
    void segmentLoopGivesTheArrayLoopsBits() {
        int n = 3 * VectorShapes.lanes() + 5;
        java.util.SplittableRandom random = new java.util.SplittableRandom(3);
        float[] in = new float[n + 1];
        for (int i = 0; i < in.length; i++) in[i] = (float) (-100 * random.nextDouble());
        in[1] = Float.NEGATIVE_INFINITY;
        in[2] = Float.NaN;
        in[3] = -0f;
        in[4] = 0f;
        in[5] = FastExp.UNDERFLOW;
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            java.lang.foreign.MemorySegment segment = arena.allocate(4L * in.length + 4, 8);
            java.lang.foreign.MemorySegment.copy(in, 0, segment, java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, 4, in.length);
            for (float shift : new float[] {0f, 1.5f}) {
                float[] fromArray = new float[n];
                float[] fromSegment = new float[n];
                float[] lanes = new float[VectorShapes.lanes()];
                float sumArray = FastExp.expBlock(in, 1, n, shift, fromArray, 0, lanes);
                float sumSegment = FastExp.expBlock(segment, 8, n, shift, fromSegment, 0, lanes); // byte 8: element 1
                for (int i = 0; i < n; i++) {
                    assertEquals(Float.floatToRawIntBits(fromArray[i]), Float.floatToRawIntBits(fromSegment[i]), "exp at " + i);
                }
                assertEquals(Float.floatToRawIntBits(sumArray), Float.floatToRawIntBits(sumSegment), "sum");
                assertEquals(Float.floatToRawIntBits(sumArray), Float.floatToRawIntBits(FastExp.expBlock(segment, 8, n, shift, null, 0, lanes)),
                        "sum without a store");
            }
        }
    }

    @Test
    void specialValues() {
        float[] in = new float[VectorShapes.lanes()];
        float[] special = {0f, -0f, Float.NEGATIVE_INFINITY, Float.NaN, -1e30f, -88f, -87.3f, -Float.MIN_VALUE, -1e-30f};
        float[] expected = {1f, 1f, 0f, Float.NaN, 0f, 0f, (float) StrictMath.exp(-87.3f), 1f, 1f};
        for (int i = 0; i < special.length; i++) {
            java.util.Arrays.fill(in, special[i]);
            float[] out = new float[in.length];
            FastExp.expBlock(in, 0, in.length, 0f, out);
            if (Float.isNaN(expected[i])) {
                assertTrue(Float.isNaN(out[0]) && Float.isNaN(FastExp.expNonPositive(special[i])), "exp(NaN) is NaN");
                continue;
            }
            assertEquals(expected[i], out[0], Math.ulp(expected[i]) * 2, "vector exp(" + special[i] + ")");
            assertEquals(expected[i], FastExp.expNonPositive(special[i]), Math.ulp(expected[i]) * 2, "scalar exp(" + special[i] + ")");
        }
        assertEquals(new BigDecimal(0), new BigDecimal(FastExp.expNonPositive(Float.NEGATIVE_INFINITY)), "exp(-inf) is exactly 0");
    }
}
