package org.losskit.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

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
 * <p>Method: {@code x = k ln2 + r} with {@code k = round(x / ln2)} and |r| <= ln2/2, ln2 split in two parts (Cody and
 * Waite) so {@code r} is exact to float; {@code exp(r)} by a degree-6 polynomial in Horner form,
 * {@code 1 + r (1 + r (C2 + r (C3 + r (C4 + r (C5 + r C6)))))}, six fmas; the result is {@code exp(r) * 2^k}. The
 * rounding of k uses the 1.5 * 2^23 trick: {@code x log2(e) + 1.5 * 2^23} holds k in its low mantissa bits, so
 * there is no float-to-int conversion, and shifting those bits left by 23 gives k in the exponent field, which an
 * integer add puts onto exp(r): an exact product by 2^k while the result is normal, which it is for every argument
 * at or above {@link #UNDERFLOW}, one integer operation instead of building 2^k and a multiply. Arguments below
 * {@link #UNDERFLOW} (including -inf) give exactly 0, where the true value is a subnormal below 1.2e-38; NaN stays
 * NaN.
 *
 * <p>The coefficients C2..C6 minimise the polynomial's largest relative error on [-ln2/2, ln2/2] (3.1e-9, 0.05 ulp;
 * Lawson's iteration on weighted least squares in float64, then rounded to float), chosen over the Taylor
 * coefficients (measured 2.74 ulp) and over the previous Cephes form {@code 1 + r + r^2 P(r)} with a degree-5 P,
 * which needs a multiply and an add more per vector (and measured 1.01 ulp). Accuracy, measured by {@code FastExpTest}
 * over every 64th float in [-87.3, 0]: at most 0.85 ulp from the exact value (vector and scalar alike; 0.88 over
 * every float there, 1.1e9 arguments, checked once), and {@link #expAnyBlock} at most 0.91 ulp over every 64th float
 * of [-87.3, 88.7]; the test enforces {@value #MAX_ULP_ERROR} ulp.
 *
 * <p>Cost, the reason for this shape: per vector of results, 9 fmas (one for k, two for r, six for the polynomial)
 * and 7 other vector operations (x - shift, k, the underflow compare and blend, the shift and add of the exponent,
 * the running sum), where the Cephes form with 2^k built and multiplied took 11 fmas and 9 others; C2 adds a
 * register copy before most fmas (its fma form overwrites the addend). On the Zen 4 cores of docs/BENCHMARKS.md a
 * 512-bit operation takes two of the four 256-bit pipes' slots, and fmas run on two of them: the loop is bound by
 * the pipes' slots, about 12 cycles a vector measured ("Where the time goes" there).
 *
 * <p>Chosen over {@code VectorOperators.EXP} (in C2 code a call into the JDK's SVML library; {@code VectorExpTest}
 * measures its error over the same arguments: at most 0.57 ulp at 512 bits, 0.74 at 256 and 128) for three reasons.
 * It is faster in the loop the kernels run most, the softmax statistics sum over a row: JMH {@code ExpBenchmark}
 * (bench, {@code rowSumExp*}). Its results are the same in compiled and interpreted code ({@code VectorExpTest}
 * checks it in a -Xint and a C2 JVM), while EXP's compiled results differ from its Java fallback,
 * {@code (float) Math.exp}, in 0.5-0.8% of arguments, so they would depend on JIT warm-up and break bit-identical
 * results across threads. And -inf, underflow and NaN are explicit.
 */
final class FastExp {
    /** The error bound FastExpTest enforces, in ulps of the exact result (measured maximum: 0.88; expAny 0.91). */
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
    /** Bits of k (in the low bits of x log2(e) + ROUNDER) moved to the exponent field; ROUNDER's own bits shift out. */
    private static final int EXPONENT_SHIFT = 23;
    // exp(r) = 1 + r (1 + r (C2 + r (C3 + r (C4 + r (C5 + r C6))))), |r| <= ln2/2
    private static final float C2 = 4.9999994040e-01f;
    private static final float C3 = 1.6666521132e-01f;
    private static final float C4 = 4.1668388993e-02f;
    private static final float C5 = 8.3687100559e-03f;
    private static final float C6 = 1.3814610429e-03f;

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();

    private FastExp() {}

    /**
     * {@code out[i] = exp(in[off + i] - shift)} for i in [0, n), every {@code in - shift <= 0} (or NaN); returns the
     * float sum of what it wrote (one vector accumulator, its lanes added in order through {@code lanes}, one
     * vector long, then the scalar tail), which costs one add per vector on a pipe the exp leaves idle, so a softmax
     * sum needs no second pass over the block.
     * Kernels stage exps through this array form: the polynomial is written once, inside this loop, and no vector
     * crosses a call that C2 might decline to inline (it declines once a helper is compiled on its own, and then
     * boxes every vector: measured 15 bytes allocated per element).
     */
    static float expBlock(float[] in, int off, int n, float shift, float[] out, float[] lanes) {
        return expBlock(in, off, n, shift, out, 0, lanes);
    }

    /** {@link #expBlock} for callers that do not need the sum (it is not formed: no lanes array to form it in). */
    static void expBlock(float[] in, int off, int n, float shift, float[] out) {
        expBlock(in, off, n, shift, out, 0, null);
    }

    /**
     * {@link #expBlock} writing {@code out[outOff + i]}; {@code out} may be {@code in} at the same position. With
     * {@code lanes} null the sum is not formed and 0 is returned; with {@code out} null nothing is written and only the
     * sum is formed (a softmax's statistics without a gradient: one store a vector less, a fifth of the loop's time
     * on a core that writes one 512-bit vector per two cycles).
     */
    static float expBlock(float[] in, int off, int n, float shift, float[] out, int outOff, float[] lanes) {
        VectorSpecies<Float> species = VectorShapes.FLOATS;
        FloatVector sum = FloatVector.zero(species);
        int i = 0;
        FloatVector one = FloatVector.broadcast(species, 1f);
        for (int bound = species.loopBound(n); i < bound; i += species.length()) {
            FloatVector x = FloatVector.fromArray(species, in, off + i).sub(shift);
            VectorMask<Float> underflow = x.compare(VectorOperators.LT, UNDERFLOW);
            FloatVector shifted = x.fma(LOG2E, ROUNDER); // k + 1.5 * 2^23: the integer k in the low mantissa bits
            FloatVector k = shifted.sub(ROUNDER);
            FloatVector r = k.fma(FloatVector.broadcast(species, -LN2_HI), x); // r = x - k ln2, in two exact steps
            r = k.fma(FloatVector.broadcast(species, -LN2_LO), r);
            FloatVector expR = r.fma(C6, C5).fma(r, FloatVector.broadcast(species, C4)).fma(r, FloatVector.broadcast(species, C3))
                    .fma(r, FloatVector.broadcast(species, C2)).fma(r, one).fma(r, one);
            // exp(r) 2^k: k << 23 added to the exponent field (k >= -126 wherever the result is not flushed to 0)
            FloatVector e = expR.reinterpretAsInts().add(shifted.reinterpretAsInts().lanewise(VectorOperators.LSHL, EXPONENT_SHIFT))
                    .reinterpretAsFloats().blend(0f, underflow);
            if (out != null) e.intoArray(out, outOff + i); // an invariant test: C2 compiles the loop once for each case
            sum = sum.add(e);
        }
        float total = 0;
        if (i > 0 && lanes != null) { // lanes added in order (Lanes); no sum asked for without a lanes array
            sum.intoArray(lanes, 0);
            total = Lanes.sum(lanes);
        }
        for (; i < n; i++) {
            float e = expNonPositive(in[off + i] - shift);
            if (out != null) out[outOff + i] = e;
            total += e;
        }
        return lanes == null ? 0 : total;
    }

    /**
     * {@link #expBlock} reading float32 values from a memory segment at {@code byteOffset} (native byte order) with
     * vector loads straight from the segment, no copy. The loop body is the array loop's, operation for operation
     * ({@code FastExpTest} checks the bits are the same), written out again rather than shared through a method that
     * takes and returns vectors: such a method is sometimes compiled on its own first (while its callers still run in
     * C1), and C2 then declines to inline it into a large caller and boxes every vector (measured: 60 MB allocated per
     * BCE-with-logits call on 1M elements).
     */
    static float expBlock(MemorySegment in, long byteOffset, int n, float shift, float[] out, int outOff, float[] lanes) {
        VectorSpecies<Float> species = VectorShapes.FLOATS;
        FloatVector sum = FloatVector.zero(species);
        int i = 0;
        FloatVector one = FloatVector.broadcast(species, 1f);
        for (int bound = species.loopBound(n); i < bound; i += species.length()) {
            FloatVector x = FloatVector.fromMemorySegment(species, in, byteOffset + 4L * i, NATIVE).sub(shift);
            VectorMask<Float> underflow = x.compare(VectorOperators.LT, UNDERFLOW);
            FloatVector shifted = x.fma(LOG2E, ROUNDER);
            FloatVector k = shifted.sub(ROUNDER);
            FloatVector r = k.fma(FloatVector.broadcast(species, -LN2_HI), x);
            r = k.fma(FloatVector.broadcast(species, -LN2_LO), r);
            FloatVector expR = r.fma(C6, C5).fma(r, FloatVector.broadcast(species, C4)).fma(r, FloatVector.broadcast(species, C3))
                    .fma(r, FloatVector.broadcast(species, C2)).fma(r, one).fma(r, one);
            FloatVector e = expR.reinterpretAsInts().add(shifted.reinterpretAsInts().lanewise(VectorOperators.LSHL, EXPONENT_SHIFT))
                    .reinterpretAsFloats().blend(0f, underflow);
            if (out != null) e.intoArray(out, outOff + i);
            sum = sum.add(e);
        }
        float total = 0;
        if (i > 0 && lanes != null) { // lanes added in order (Lanes); no sum asked for without a lanes array
            sum.intoArray(lanes, 0);
            total = Lanes.sum(lanes);
        }
        for (; i < n; i++) {
            float e = expNonPositive(in.get(F32, byteOffset + 4L * i) - shift);
            if (out != null) out[outOff + i] = e;
            total += e;
        }
        return lanes == null ? 0 : total;
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
            FloatVector one = FloatVector.broadcast(species, 1f);
            FloatVector expR = r.fma(C6, C5).fma(r, FloatVector.broadcast(species, C4)).fma(r, FloatVector.broadcast(species, C3))
                    .fma(r, FloatVector.broadcast(species, C2)).fma(r, one).fma(r, one);
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
     * exp(r) by the degree-6 polynomial for r = x - k ln2 (ln2 in two parts, so r is exact), where {@code shifted} =
     * x log2(e) + 1.5 * 2^23 holds k = round(x / ln2); the scalar form of the vector loops' steps, operation for
     * operation, so a tail element gets the bits a vector lane would.
     */
    private static float expOfRemainder(float x, float shifted) {
        float k = shifted - ROUNDER;
        float r = Math.fma(k, -LN2_HI, x);
        r = Math.fma(k, -LN2_LO, r);
        return Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(r, C6, C5), r, C4), r, C3), r, C2), r, 1f), r, 1f);
    }

    /** The same computation for one float, for loop tails, so a value does not depend on where it sits in a row. */
    static float expNonPositive(float x) {
        if (x < UNDERFLOW) return 0f;
        float shifted = Math.fma(x, LOG2E, ROUNDER);
        float expR = expOfRemainder(x, shifted);
        return Float.intBitsToFloat(Float.floatToRawIntBits(expR) + (Float.floatToRawIntBits(shifted) << EXPONENT_SHIFT));
    }
}
