package org.losskit.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@code exp(x)} for {@code x <= 0} (or NaN), the only arguments a max-shifted softmax and the stable sigmoid
 * forms ever pass, inlined into the kernels (no call into the JDK's SVML stubs); {@link #expAnyBlock} for any
 * argument (Poisson NLL with log input, KL with log target, the focal modulator).
 *
 * <p>Method (Cephes {@code expf}): {@code x = k ln2 + r} with {@code k = round(x / ln2)} and |r| <= ln2/2, ln2 split
 * in two parts so {@code r} is exact to float; {@code exp(r) = 1 + r + r^2 P(r)} with the degree-5 minimax P; the
 * result is {@code exp(r) * 2^k}, with 2^k built in the exponent bits. The rounding of k uses the 1.5 * 2^23 trick,
 * so there is no float-to-int conversion. Arguments below {@link #UNDERFLOW} (including -inf) give exactly 0,
 * where the true value is a subnormal below 1.2e-38; NaN stays NaN.
 *
 * <p>Accuracy, measured by {@code FastExpTest} over every 64th float in [-87.3, 0] (17 million arguments): at most
 * 1.01 ulp from the exact value (vector and scalar alike); the test enforces {@value #MAX_ULP_ERROR} ulp.
 *
 * <p>Chosen over {@code VectorOperators.EXP} (in C2 code a call into the JDK's SVML library; {@code VectorExpTest}
 * measures its error over the same arguments: at most 0.57 ulp at 512 bits, 0.74 at 256 and 128) for three reasons.
 * It is faster in the loop the kernels run most, the softmax statistics sum over a row: JMH {@code ExpBenchmark}
 * (bench), {@code rowSumExp*} over 32000 logits, 2026-11-22, AMD EPYC with AVX-512, 2 shared cores,
 * {@code bench/run --jmh 'ExpBenchmark' -f 1 -wi 2 -w 1s -i 3 -r 1s -p vectorBits=preferred,256}: 3.90 +- 0.34 G exp/s
 * at 512 bits against 2.97 +- 0.71 (EXP staged as here) and 2.83 +- 0.39 (EXP summed directly); 2.78 against
 * 2.01-2.08 at 256 bits; scalar {@code Math.exp} 0.20. (On a bare block of exps, {@code expBlock*}, the two are within
 * the short run's error: EXP 3.36 against 2.54 at n = 2048, 3.47 against 3.96 at n = 65536.) Its results are the same
 * in compiled and interpreted code ({@code VectorExpTest} checks it in a -Xint and a C2 JVM), while EXP's compiled
 * results differ from its Java fallback, {@code (float) Math.exp}, in 0.5-0.8% of arguments, so they would depend on
 * JIT warm-up and break bit-identical results across threads. And -inf, underflow and NaN are explicit.
 */
final class FastExp {
    /** The error bound FastExpTest enforces, in ulps of the exact result (measured maximum: 1.01). */
    static final double MAX_ULP_ERROR = 1.5;
    /** Below this the result would be subnormal: the kernel returns 0 instead. */
    static final float UNDERFLOW = -87.33654f;
    /** Above this exp(x) exceeds Float.MAX_VALUE: {@link #expAnyBlock} returns +inf. */
    static final float OVERFLOW = 88.72283f;

    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    private static final float ROUNDER = 12582912f; // 1.5 * 2^23: x + ROUNDER rounds x to an integer in the low bits
    private static final int ROUNDER_BITS = Float.floatToRawIntBits(ROUNDER);
    private static final float P0 = 1.9875691500e-4f;
    private static final float P1 = 1.3981999507e-3f;
    private static final float P2 = 8.3334519073e-3f;
    private static final float P3 = 4.1665795894e-2f;
    private static final float P4 = 1.6666665459e-1f;
    private static final float P5 = 5.0000001201e-1f;

    private FastExp() {}

    /**
     * {@code out[i] = exp(in[off + i] - shift)} for i in [0, n), every {@code in - shift <= 0} (or NaN). Kernels
     * stage exps through this array form: the polynomial is written once, inside this loop, and no vector crosses a
     * call that C2 might decline to inline (it declines once a helper is compiled on its own, and then boxes every
     * vector: measured 15 bytes allocated per element).
     */
    static void expBlock(float[] in, int off, int n, float shift, float[] out) {
        expBlock(in, off, n, shift, out, 0);
    }

    /** {@link #expBlock} writing {@code out[outOff + i]}; {@code out} may be {@code in} at the same position. */
    static void expBlock(float[] in, int off, int n, float shift, float[] out, int outOff) {
        VectorSpecies<Float> species = VectorShapes.FLOATS;
        int i = 0;
        for (int bound = species.loopBound(n); i < bound; i += species.length()) {
            FloatVector x = FloatVector.fromArray(species, in, off + i).sub(shift);
            VectorMask<Float> underflow = x.compare(VectorOperators.LT, UNDERFLOW);
            FloatVector shifted = x.fma(LOG2E, ROUNDER); // k + 1.5 * 2^23: the integer k in the low mantissa bits
            FloatVector k = shifted.sub(ROUNDER);
            FloatVector r = k.fma(FloatVector.broadcast(species, -LN2_HI), x); // r = x - k ln2, in two exact steps
            r = k.fma(FloatVector.broadcast(species, -LN2_LO), r);
            FloatVector p = r.fma(P0, P1).fma(r, FloatVector.broadcast(species, P2)).fma(r, FloatVector.broadcast(species, P3))
                    .fma(r, FloatVector.broadcast(species, P4)).fma(r, FloatVector.broadcast(species, P5));
            FloatVector expR = p.fma(r.mul(r), r).add(1f); // exp(r) = 1 + r + r^2 P(r)
            // 2^k: (k + 127) << 23 as float bits; k >= -126 wherever the result is not flushed to 0.
            FloatVector twoToK = shifted.reinterpretAsInts().sub(ROUNDER_BITS - 127).lanewise(VectorOperators.LSHL, 23)
                    .reinterpretAsFloats();
            expR.mul(twoToK).blend(0f, underflow).intoArray(out, outOff + i);
        }
        for (; i < n; i++) out[outOff + i] = expNonPositive(in[off + i] - shift);
    }

    /**
     * {@code out[i] = exp(factor * in[off + i])} for i in [0, n), any argument: the same reduction and polynomial as
     * {@link #expBlock}, with 2^k applied as {@code 2^(k >> 1) * 2^(k - (k >> 1))} so that k = 128 (arguments in
     * (88.03, 88.72], results near Float.MAX_VALUE) needs no exponent field of 255; both factors are normal and each
     * product by a power of two is exact, so the bits equal {@code exp(r) * 2^k}. Arguments above {@link #OVERFLOW}
     * (and +inf) give +inf, below {@link #UNDERFLOW} (and -inf) 0, NaN gives NaN. In place ({@code out == in}) is
     * allowed. Accuracy as expBlock: FastExpTest measures the whole range [-87.3, 88.7].
     */
    static void expAnyBlock(float[] in, int off, int n, float factor, float[] out) {
        VectorSpecies<Float> species = VectorShapes.FLOATS;
        int i = 0;
        for (int bound = species.loopBound(n); i < bound; i += species.length()) {
            FloatVector x = FloatVector.fromArray(species, in, off + i).mul(factor);
            VectorMask<Float> underflow = x.compare(VectorOperators.LT, UNDERFLOW);
            VectorMask<Float> overflow = x.compare(VectorOperators.GT, OVERFLOW);
            FloatVector shifted = x.fma(LOG2E, ROUNDER);
            FloatVector k = shifted.sub(ROUNDER);
            FloatVector r = k.fma(FloatVector.broadcast(species, -LN2_HI), x);
            r = k.fma(FloatVector.broadcast(species, -LN2_LO), r);
            FloatVector p = r.fma(P0, P1).fma(r, FloatVector.broadcast(species, P2)).fma(r, FloatVector.broadcast(species, P3))
                    .fma(r, FloatVector.broadcast(species, P4)).fma(r, FloatVector.broadcast(species, P5));
            FloatVector expR = p.fma(r.mul(r), r).add(1f);
            IntVector kInt = shifted.reinterpretAsInts().sub(ROUNDER_BITS);
            IntVector half = kInt.lanewise(VectorOperators.ASHR, 1);
            FloatVector twoToHalf = half.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
            FloatVector twoToRest = kInt.sub(half).add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
            expR.mul(twoToHalf).mul(twoToRest).blend(0f, underflow).blend(Float.POSITIVE_INFINITY, overflow).intoArray(out, i);
        }
        for (; i < n; i++) out[i] = expAny(factor * in[off + i]);
    }

    /** {@link #expAnyBlock} for one float. */
    static float expAny(float x) {
        if (x < UNDERFLOW) return 0f;
        if (x > OVERFLOW) return Float.POSITIVE_INFINITY;
        float shifted = Math.fma(x, LOG2E, ROUNDER);
        float expR = expOfRemainder(x, shifted);
        int kInt = Float.floatToRawIntBits(shifted) - ROUNDER_BITS;
        int half = kInt >> 1;
        return expR * Float.intBitsToFloat((half + 127) << 23) * Float.intBitsToFloat((kInt - half + 127) << 23);
    }

    /**
     * exp(r) = 1 + r + r^2 P(r) for r = x - k ln2 (ln2 in two parts, so r is exact), where {@code shifted} =
     * x log2(e) + 1.5 * 2^23 holds k = round(x / ln2); the scalar form of the vector loops' steps, operation for
     * operation, so a tail element gets the bits a vector lane would.
     */
    private static float expOfRemainder(float x, float shifted) {
        float k = shifted - ROUNDER;
        float r = Math.fma(k, -LN2_HI, x);
        r = Math.fma(k, -LN2_LO, r);
        float p = Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(P0, r, P1), r, P2), r, P3), r, P4), r, P5);
        return Math.fma(p, r * r, r) + 1f;
    }

    /** The same computation for one float, for loop tails, so a value does not depend on where it sits in a row. */
    static float expNonPositive(float x) {
        if (x < UNDERFLOW) return 0f;
        float shifted = Math.fma(x, LOG2E, ROUNDER);
        float expR = expOfRemainder(x, shifted);
        int kBits = (Float.floatToRawIntBits(shifted) - (ROUNDER_BITS - 127)) << 23;
        return expR * Float.intBitsToFloat(kBits);
    }
}
