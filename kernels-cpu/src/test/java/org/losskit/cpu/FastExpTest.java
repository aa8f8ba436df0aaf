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
