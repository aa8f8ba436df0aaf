package org.losskit.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** FastLog1p against StrictMath.log1p over a dense sweep of [0, 1], vector loop and scalar tail alike. */
class FastLog1pTest {

    @Test
    void withinTheDocumentedBoundOverZeroToOne() {
        int count = 1 << 22;
        float[] in = new float[count + 3]; // + 3: the scalar tail runs too
        for (int i = 0; i < in.length; i++) in[i] = (float) i / count;
        in[in.length - 1] = Float.MIN_VALUE;
        in[in.length - 2] = 1e-30f;
        float[] out = new float[in.length];
        FastLog1p.log1pBlock(in, in.length, out);
        double worst = 0;
        for (int i = 0; i < in.length; i++) {
            double exact = StrictMath.log1p(in[i]);
            double ulps = exact == 0 ? (out[i] == 0 ? 0 : Double.POSITIVE_INFINITY) : Math.abs(out[i] - exact) / Math.ulp((float) exact);
            worst = Math.max(worst, ulps);
        }
        System.out.println("FastLog1p max error: " + worst + " ulp");
        assertTrue(worst <= FastLog1p.MAX_ULP_ERROR, "log1p error " + worst + " ulp");
        float[] nan = {Float.NaN};
        FastLog1p.log1pBlock(nan, 1, nan);
        assertTrue(Float.isNaN(nan[0]));
        assertEquals(0f, FastLog1p.log1pOfUnit(0f));
    }
}
