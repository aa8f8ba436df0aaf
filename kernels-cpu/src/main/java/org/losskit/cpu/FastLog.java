package org.losskit.cpu;

import static org.losskit.cpu.VectorShapes.FLOATS;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * {@code log(x)} for any float, inlined into the kernels instead of {@code VectorOperators.LOG}, whose SVML results
 * differ from its Java fallback, so results would depend on JIT warm-up (see FastExp).
 *
 * <p>Method (as musl's logf): subnormals are first scaled by 2^23; then {@code x = 2^k m} with m in
 * [sqrt(1/2), sqrt(2)), found by offsetting the bits so the split falls at sqrt(1/2); f = m - 1 is exact,
 * {@code s = f / (2 + f)}, |s| <= 0.1716, and {@code log m = f - f^2/2 + s (f^2/2 + R(s^2))} with musl's minimax R
 * (Lg1..Lg4), which keeps the rounding of s out of the leading terms; {@code log x = log m + k ln2} with ln2 split
 * in two so that k ln2_hi is exact. Near x = 1 (k = 0) the relative accuracy holds down to the smallest results. 0 gives -inf, negatives and NaN give NaN, +inf gives +inf. Measured by {@code FastLogTest}; the test
 * enforces {@value #MAX_ULP_ERROR} ulp.
 */
final class FastLog {
    /** The error bound FastLogTest enforces, in ulps of the exact result (measured maximum: 0.83). */
    static final double MAX_ULP_ERROR = 1.0;

    private static final float LN2_HI = 6.9313812256e-01f;
    private static final float LN2_LO = 9.0580006145e-06f;
    private static final float LG1 = 0.66666662693f;
    private static final float LG2 = 0.40000972152f;
    private static final float LG3 = 0.28498786688f;
    private static final float LG4 = 0.24279078841f;
    private static final float TWO_TO_23 = 8388608f;
    /** Bits of sqrt(1/2): mantissas at or above it belong to the lower exponent's [sqrt(1/2), sqrt(2)). */
    private static final int SQRT_HALF_BITS = 0x3f3504f3;
    private static final int ONE_BITS = 0x3f800000;

    private FastLog() {}

    /** {@code out[i] = log(in[off + i] + addend)} for i in [0, n); in place allowed. */
    static void logBlock(float[] in, int off, int n, float addend, float[] out) {
        int i = 0;
        for (int bound = FLOATS.loopBound(n); i < bound; i += FLOATS.length()) {
            FloatVector x = FloatVector.fromArray(FLOATS, in, off + i).add(addend);
            VectorMask<Float> subnormal = x.compare(VectorOperators.LT, Float.MIN_NORMAL);
            FloatVector scaled = x.blend(x.mul(TWO_TO_23), subnormal);
            IntVector bits = scaled.reinterpretAsInts().add(ONE_BITS - SQRT_HALF_BITS);
            // k = exponent of x (less 23 for scaled subnormals), m = mantissa moved into [sqrt(1/2), sqrt(2))
            IntVector kInt = bits.lanewise(VectorOperators.ASHR, 23).sub(127);
            FloatVector k = ((FloatVector) kInt.convert(VectorOperators.I2F, 0)).blend(
                    ((FloatVector) kInt.convert(VectorOperators.I2F, 0)).sub(23f), subnormal);
            FloatVector m = bits.and(0x007fffff).add(SQRT_HALF_BITS).reinterpretAsFloats();
            FloatVector f = m.sub(1f);
            FloatVector s = f.div(f.add(2f));
            FloatVector z = s.mul(s);
            FloatVector w = z.mul(z);
            // R = z (Lg1 + w Lg3) + w (Lg2 + w Lg4); log m = s (f^2/2 + R) + k ln2_lo - f^2/2 + f, then + k ln2_hi
            FloatVector r = z.mul(w.fma(LG3, LG1)).add(w.mul(w.fma(LG4, LG2)));
            FloatVector halfSquare = f.mul(f).mul(0.5f);
            FloatVector result = s.mul(halfSquare.add(r)).add(k.mul(LN2_LO)).sub(halfSquare).add(f).add(k.mul(LN2_HI));
            result.blend(Float.NEGATIVE_INFINITY, x.compare(VectorOperators.EQ, 0f))
                    .blend(Float.POSITIVE_INFINITY, x.compare(VectorOperators.EQ, Float.POSITIVE_INFINITY))
                    .blend(Float.NaN, x.compare(VectorOperators.LT, 0f).or(x.test(VectorOperators.IS_NAN)))
                    .intoArray(out, i);
        }
        for (; i < n; i++) out[i] = log(in[off + i] + addend);
    }

    /** {@link #logBlock} for one float. */
    static float log(float x) {
        if (x == 0) return Float.NEGATIVE_INFINITY;
        if (x == Float.POSITIVE_INFINITY) return x;
        if (x < 0 || Float.isNaN(x)) return Float.NaN;
        boolean subnormal = x < Float.MIN_NORMAL;
        float scaled = subnormal ? x * TWO_TO_23 : x;
        int bits = Float.floatToRawIntBits(scaled) + (ONE_BITS - SQRT_HALF_BITS);
        int kInt = (bits >> 23) - 127;
        float k = subnormal ? (float) kInt - 23f : (float) kInt;
        float m = Float.intBitsToFloat((bits & 0x007fffff) + SQRT_HALF_BITS);
        float f = m - 1f;
        float s = f / (f + 2f);
        float z = s * s;
        float w = z * z;
        float r = z * Math.fma(w, LG3, LG1) + w * Math.fma(w, LG4, LG2);
        float halfSquare = f * f * 0.5f;
        return s * (halfSquare + r) + k * LN2_LO - halfSquare + f + k * LN2_HI;
    }
}
