package org.losskit.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** FastLog against StrictMath.log over every 64th positive float (subnormals included), vector and scalar alike. */
class FastLogTest {

    @Test
    void everyPositiveFloatIsWithinTheDocumentedBound() {
        int lanes = VectorShapes.lanes();
        float[] in = new float[lanes];
        float[] out = new float[lanes];
        double worst = 0;
        float worstAt = 0;
        int k = 0;
        for (int bits = 1; bits < Float.floatToRawIntBits(Float.POSITIVE_INFINITY); bits += 64) {
            in[k++] = Float.intBitsToFloat(bits);
            if (k == lanes) {
                FastLog.logBlock(in, 0, lanes, 0f, out);
                for (int i = 0; i < lanes; i++) {
                    float scalar = FastLog.log(in[i]);
                    assertEquals(Float.floatToRawIntBits(out[i]), Float.floatToRawIntBits(scalar), "vector and scalar differ at " + in[i]);
                    double exact = StrictMath.log(in[i]);
                    double ulps = exact == 0 ? (out[i] == 0 ? 0 : Double.POSITIVE_INFINITY) : Math.abs(out[i] - exact) / Math.ulp((float) exact);
                    if (ulps > worst) {
                        worst = ulps;
                        worstAt = in[i];
                    }
                }
                k = 0;
            }
        }
        System.out.println("FastLog max error: " + worst + " ulp at " + worstAt);
        assertTrue(worst <= FastLog.MAX_ULP_ERROR, "log error " + worst + " ulp at " + worstAt);
    }

    @Test
    void specialValuesAndAddend() {
        int lanes = VectorShapes.lanes();
        float[] special = {0f, -0f, Float.POSITIVE_INFINITY, Float.NaN, -1f, Float.NEGATIVE_INFINITY, 1f, Float.MIN_VALUE, Float.MAX_VALUE};
        float[] block = new float[lanes];
        for (float x : special) {
            java.util.Arrays.fill(block, x);
            FastLog.logBlock(block, 0, lanes, 0f, block);
            double exact = StrictMath.log(x);
            for (float v : new float[] {block[0], FastLog.log(x)}) {
                if (Double.isNaN(exact) || Double.isInfinite(exact) || exact == 0) assertEquals((float) exact, v, "log(" + x + ")");
                else assertTrue(Math.abs(v - exact) <= FastLog.MAX_ULP_ERROR * Math.ulp((float) exact), "log(" + x + ") = " + v);
            }
        }
        float[] x = new float[lanes + 3]; // + 3: the scalar tail
        float[] out = new float[x.length];
        java.util.Arrays.fill(x, 0.25f);
        FastLog.logBlock(x, 0, x.length, 0.75f, out);
        for (float v : out) assertEquals(0f, v, "log(0.25 + 0.75)");
    }
}
