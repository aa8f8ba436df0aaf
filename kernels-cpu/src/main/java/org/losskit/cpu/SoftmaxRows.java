package org.losskit.cpu;

import static org.losskit.cpu.VectorShapes.FLOATS;
import static org.losskit.cpu.VectorShapes.LANES;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

import org.losskit.Matrix;

/**
 * The vector loops every softmax loss is built from, over one row of logits read in {@link Blocks} of 2048.
 *
 * <p>Statistics pass (one read of the row from memory): for each block, its max b, then
 * {@code m' = max(m, b)}, the running sum rescaled {@code S <- S exp(m - m')} once per block, and
 * {@code S += sum exp(z - m')} over the block while it is still in L1. The row's {@code lse = m + log S}. Every
 * exponent is {@code <= 0}, so {@link FastExp#expNonPositive} applies and nothing overflows.
 *
 * <p>Loops below {@link #SCALAR_BELOW} elements run as plain scalar code: a vector set-up does not pay for itself
 * there. Each vector loop keeps two independent accumulators and finishes with a scalar tail that uses the same
 * scalar exp, so a result does not depend on where an element sits relative to the lanes more than by rounding.
 */
final class SoftmaxRows {
    /** Blocks shorter than this run scalar: two vectors of set-up and reduction cost more than they save. */
    static final int SCALAR_BELOW = 2 * LANES;

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();

    private SoftmaxRows() {}

    // ------------------------------------------------------------------ softcap

    /**
     * z = c tanh(x / c) of a block, into {@code out[0, n)}: tanh(y) = sign(y) (1 - e) / (1 + e) with e = exp(-2|y|),
     * through FastExp (staged in {@code out}), not the JDK's SVML tanh, whose results differ between compiled and
     * interpreted code (so results would depend on warm-up) and which is slower.
     */
    static void softcap(float[] x, int xo, int n, float c, float[] out, float[] lanes) {
        float inverse = 1f / c;
        int i = 0;
        int bound = FLOATS.loopBound(n);
        for (; i < bound; i += LANES) FloatVector.fromArray(FLOATS, x, xo + i).abs().mul(-2f * inverse).intoArray(out, i);
        for (; i < n; i++) out[i] = Math.abs(x[xo + i]) * (-2f * inverse);
        FastExp.expBlock(out, 0, n, 0f, out, lanes);
        FloatVector one = FloatVector.broadcast(FLOATS, 1f);
        for (i = 0; i < bound; i += LANES) {
            FloatVector e = FloatVector.fromArray(FLOATS, out, i);
            FloatVector xv = FloatVector.fromArray(FLOATS, x, xo + i);
            FloatVector magnitude = one.sub(e).div(one.add(e)).mul(c);
            magnitude.blend(magnitude.neg(), xv.compare(VectorOperators.LT, 0f)).blend(xv, xv.test(VectorOperators.IS_NAN)).intoArray(out, i);
        }
        for (; i < n; i++) {
            float e = out[i];
            float xi = x[xo + i];
            float magnitude = (1 - e) / (1 + e) * c;
            out[i] = Float.isNaN(xi) ? xi : xi < 0 ? -magnitude : magnitude;
        }
    }

    /** The block of logits as the softmax sees them: the storage itself, or softcapped into {@code s.capped}. */
    static float[] logitsBlock(Matrix logits, int r, int c0, int n, float softcap, Scratch s, int[] offset) {
        int off = Blocks.read(logits, r, c0, n, s.input);
        float[] a = Blocks.array(logits, s.input);
        if (softcap > 0) {
            softcap(a, off, n, softcap, s.capped, s.lanes);
            offset[0] = 0;
            return s.capped;
        }
        offset[0] = off;
        return a;
    }

    // ------------------------------------------------------------------ statistics pass

    /**
     * Fills {@code s.rowMax} = m = max_c z_c and {@code s.rowSumExp} = S = sum_c exp(z_c - m) for row r, with
     * z = softcap(x) when {@code softcap > 0}. NaN anywhere makes both NaN; a row of only -inf gives m = -inf,
     * S = 0 (so lse = -inf); +inf gives S = NaN, as exp(inf - inf) does in the reference. When {@code target} is a
     * column, {@code s.rowTargetLogit} gets z_target as this pass computed it (the same softcap rounding as m).
     *
     * <p>Each block's shift is its {@link #shiftMax}; S is NaN exactly when the row holds a NaN or +inf, and only then,
     * or when m is a zero (whose sign the shift does not settle), is m read again by {@link #exactMax}, so m is
     * {@code Math.max} over the row in every case.
     */
    static void statistics(Matrix logits, int r, float softcap, int target, Scratch s) {
        int cols = logits.cols();
        MemorySegment segment = softcap == 0 ? Blocks.floatSegment(logits) : null;
        float m = Float.NEGATIVE_INFINITY;
        double sum = 0;
        for (int c0 = 0; c0 < cols; c0 += Blocks.SIZE) {
            int n = Math.min(Blocks.SIZE, cols - c0);
            int[] off = s.offset;
            float[] z = null;
            long at = 0;
            float shift;
            if (segment != null) { // float32 in a segment: read in place
                at = Blocks.byteOffset(logits, r, c0);
                if (target >= c0 && target < c0 + n) s.rowTargetLogit = segment.get(F32, at + 4L * (target - c0));
                shift = blockShift(segment, at, logits, r, c0, n, s);
            } else {
                z = logitsBlock(logits, r, c0, n, softcap, s, off);
                if (target >= c0 && target < c0 + n) s.rowTargetLogit = z[off[0] + target - c0];
                shift = blockShift(z, off[0], n, s.lanes);
            }
            float newMax = Math.max(m, shift);
            if (Float.isNaN(newMax)) {
                m = Float.NaN;
                sum = Double.NaN;
                break;
            }
            if (newMax == Float.NEGATIVE_INFINITY) continue; // only -inf so far: S stays 0
            if (newMax > m) sum *= Math.exp((double) m - newMax); // m = -inf: S was 0 and stays 0
            m = newMax;
            sum += segment != null ? FastExp.expBlock(segment, at, n, m, null, 0, s.lanes) : sumExp(z, off[0], n, m, s.lanes);
        }
        if (m == 0 || Double.isNaN(sum)) m = exactMax(logits, r, softcap, s);
        s.rowMax = m;
        s.rowSumExp = sum;
    }

    /** {@link #blockShift} of block (r, c0 .. c0 + n) of a float32 segment view, read in place (a copy only for the -inf case). */
    private static float blockShift(MemorySegment segment, long at, Matrix logits, int r, int c0, int n, Scratch s) {
        float b = shiftMax(segment, at, n, s.lanes);
        return b == Float.NEGATIVE_INFINITY ? max(logitsBlock(logits, r, c0, n, 0f, s, s.offset), s.offset[0], n, s.lanes) : b;
    }

    /**
     * The shift of a block for its exps: {@link #shiftMax}, which is at least every element, or, when that finds no
     * element above -inf (a block of -inf and NaN only), {@link #max}, which says NaN if there is one.
     */
    private static float blockShift(float[] z, int off, int n, float[] lanes) {
        float b = shiftMax(z, off, n, lanes);
        return b == Float.NEGATIVE_INFINITY ? max(z, off, n, lanes) : b;
    }

    /**
     * The largest non-NaN element of a block (-inf if none), of either sign when it is a zero: the shift for a
     * block's exps, where a NaN shows up in the exps' sum anyway. Four accumulators, each updated by a compare and a
     * blend: 2 operations a vector with short dependency chains, where {@link #max}'s {@code Math.max} semantics
     * (NaN first, +0 over -0) compile to about six dependent operations a vector on AVX-512 (measured 2.3x slower
     * on a 2048-float block in L1; docs/BENCHMARKS.md, "Where the time goes").
     */
    static float shiftMax(float[] a, int off, int n, float[] lanes) {
        int i = 0;
        float result = Float.NEGATIVE_INFINITY;
        if (n >= 4 * LANES) {
            FloatVector m0 = FloatVector.broadcast(FLOATS, Float.NEGATIVE_INFINITY);
            FloatVector m1 = m0;
            FloatVector m2 = m0;
            FloatVector m3 = m0;
            for (int bound = n - 4 * LANES + 1; i < bound; i += 4 * LANES) {
                FloatVector v0 = FloatVector.fromArray(FLOATS, a, off + i);
                FloatVector v1 = FloatVector.fromArray(FLOATS, a, off + i + LANES);
                FloatVector v2 = FloatVector.fromArray(FLOATS, a, off + i + 2 * LANES);
                FloatVector v3 = FloatVector.fromArray(FLOATS, a, off + i + 3 * LANES);
                m0 = m0.blend(v0, v0.compare(VectorOperators.GT, m0));
                m1 = m1.blend(v1, v1.compare(VectorOperators.GT, m1));
                m2 = m2.blend(v2, v2.compare(VectorOperators.GT, m2));
                m3 = m3.blend(v3, v3.compare(VectorOperators.GT, m3));
            }
            m0 = m0.blend(m1, m1.compare(VectorOperators.GT, m0));
            m2 = m2.blend(m3, m3.compare(VectorOperators.GT, m2));
            m0.blend(m2, m2.compare(VectorOperators.GT, m0)).intoArray(lanes, 0);
            result = Lanes.max(lanes);
        }
        for (; i < n; i++) {
            float v = a[off + i];
            if (v > result) result = v;
        }
        return result;
    }


    /**
     * {@link #shiftMax} of n float32 values of a segment from {@code byteOffset} (native order), read in place. The
     * array loop's body written out again, not shared through a method taking vectors: see FastExp's segment loop.
     */
    static float shiftMax(MemorySegment a, long byteOffset, int n, float[] lanes) {
        int i = 0;
        float result = Float.NEGATIVE_INFINITY;
        if (n >= 4 * LANES) {
            FloatVector m0 = FloatVector.broadcast(FLOATS, Float.NEGATIVE_INFINITY);
            FloatVector m1 = m0;
            FloatVector m2 = m0;
            FloatVector m3 = m0;
            long vectorBytes = 4L * LANES;
            for (int bound = n - 4 * LANES + 1; i < bound; i += 4 * LANES) {
                long at = byteOffset + 4L * i;
                FloatVector v0 = FloatVector.fromMemorySegment(FLOATS, a, at, NATIVE);
                FloatVector v1 = FloatVector.fromMemorySegment(FLOATS, a, at + vectorBytes, NATIVE);
                FloatVector v2 = FloatVector.fromMemorySegment(FLOATS, a, at + 2 * vectorBytes, NATIVE);
                FloatVector v3 = FloatVector.fromMemorySegment(FLOATS, a, at + 3 * vectorBytes, NATIVE);
                m0 = m0.blend(v0, v0.compare(VectorOperators.GT, m0));
                m1 = m1.blend(v1, v1.compare(VectorOperators.GT, m1));
                m2 = m2.blend(v2, v2.compare(VectorOperators.GT, m2));
                m3 = m3.blend(v3, v3.compare(VectorOperators.GT, m3));
            }
            m0 = m0.blend(m1, m1.compare(VectorOperators.GT, m0));
            m2 = m2.blend(m3, m3.compare(VectorOperators.GT, m2));
            m0.blend(m2, m2.compare(VectorOperators.GT, m0)).intoArray(lanes, 0);
            result = Lanes.max(lanes);
        }
        for (; i < n; i++) {
            float v = a.get(F32, byteOffset + 4L * i);
            if (v > result) result = v;
        }
        return result;
    }

    /** max of a block; NaN if any element is NaN (Math.max semantics, lane by lane; lanes combined by {@link Lanes#max}). */
    static float max(float[] a, int off, int n, float[] lanes) {
        int i = 0;
        float result = Float.NEGATIVE_INFINITY;
        if (n >= SCALAR_BELOW) {
            FloatVector m0 = FloatVector.broadcast(FLOATS, Float.NEGATIVE_INFINITY);
            FloatVector m1 = m0;
            for (int bound = n - 2 * LANES + 1; i < bound; i += 2 * LANES) {
                m0 = m0.max(FloatVector.fromArray(FLOATS, a, off + i));
                m1 = m1.max(FloatVector.fromArray(FLOATS, a, off + i + LANES));
            }
            m0.max(m1).intoArray(lanes, 0);
            result = Lanes.max(lanes);
        }
        for (; i < n; i++) result = Math.max(result, a[off + i]);
        return result;
    }

    /** sum exp(a_i - m) over a block, m >= every a_i (or NaN); the exps themselves are not kept. */
    static float sumExp(float[] a, int off, int n, float m, float[] lanes) {
        return FastExp.expBlock(a, off, n, m, null, 0, lanes);
    }

    /** sum of a[0, n) in float, two accumulators, lanes added in a fixed order. */
    static float sum(float[] a, int n, float[] lanes) {
        return sum(a, 0, n, lanes);
    }

    /** sum of a[off, off + n) in float, as {@link #sum(float[], int, float[])}. */
    static float sum(float[] a, int off, int n, float[] lanes) {
        int i = 0;
        float result = 0;
        if (n >= SCALAR_BELOW) {
            FloatVector s0 = FloatVector.zero(FLOATS);
            FloatVector s1 = s0;
            for (int bound = n - 2 * LANES + 1; i < bound; i += 2 * LANES) {
                s0 = s0.add(FloatVector.fromArray(FLOATS, a, off + i));
                s1 = s1.add(FloatVector.fromArray(FLOATS, a, off + i + LANES));
            }
            s0.add(s1).intoArray(lanes, 0);
            result = Lanes.sum(lanes);
        }
        for (; i < n; i++) result += a[off + i];
        return result;
    }

    // ------------------------------------------------------------------ passes for losses and diagnostics

    /**
     * sum_c w_c (m - z_c) over row r (w = 1 when {@code weights} is null): with S, the smoothing term
     * sum_c w_c (lse - z_c) = W log S + this. Every term is >= 0, so the float sum does not cancel.
     */
    static double weightedGapToMax(Matrix logits, int r, float softcap, float[] weights, float m, Scratch s) {
        int cols = logits.cols();
        double total = 0;
        for (int c0 = 0; c0 < cols; c0 += Blocks.SIZE) {
            int n = Math.min(Blocks.SIZE, cols - c0);
            float[] z = logitsBlock(logits, r, c0, n, softcap, s, s.offset);
            int off = s.offset[0];
            float blockSum = 0;
            int i = 0;
            if (n >= SCALAR_BELOW) {
                FloatVector acc = FloatVector.zero(FLOATS);
                FloatVector max = FloatVector.broadcast(FLOATS, m);
                int bound = FLOATS.loopBound(n);
                if (weights == null) {
                    for (; i < bound; i += LANES) acc = acc.add(max.sub(FloatVector.fromArray(FLOATS, z, off + i)));
                } else {
                    for (; i < bound; i += LANES) {
                        acc = max.sub(FloatVector.fromArray(FLOATS, z, off + i)).fma(FloatVector.fromArray(FLOATS, weights, c0 + i), acc);
                    }
                }
                acc.intoArray(s.lanes, 0);
                blockSum = Lanes.sum(s.lanes);
            }
            for (; i < n; i++) blockSum += (weights == null ? 1f : weights[c0 + i]) * (m - z[off + i]);
            total += blockSum;
        }
        return total;
    }

    /**
     * Entropy of row r's softmax: H = -sum p log p = log S + (1/S) sum_c e_c (m - z_c) with e_c = exp(z_c - m),
     * terms with e_c = 0 counting 0 (0 log 0 = 0). Every term is >= 0.
     */
    static double entropy(Matrix logits, int r, float softcap, float m, double sumExp, Scratch s) {
        // A row of only -inf has no distribution: lse = -inf and no p_c > 0, so -inf as in the reference.
        if (m == Float.NEGATIVE_INFINITY) return Double.NEGATIVE_INFINITY;
        int cols = logits.cols();
        double total = 0;
        for (int c0 = 0; c0 < cols; c0 += Blocks.SIZE) {
            int n = Math.min(Blocks.SIZE, cols - c0);
            float[] z = logitsBlock(logits, r, c0, n, softcap, s, s.offset);
            int off = s.offset[0];
            FastExp.expBlock(z, off, n, m, s.stageE, s.lanes);
            float[] e = s.stageE;
            float blockSum = 0;
            int i = 0;
            if (n >= SCALAR_BELOW) {
                FloatVector acc = FloatVector.zero(FLOATS);
                FloatVector max = FloatVector.broadcast(FLOATS, m);
                for (int bound = FLOATS.loopBound(n); i < bound; i += LANES) {
                    FloatVector gap = max.sub(FloatVector.fromArray(FLOATS, z, off + i));
                    FloatVector ev = FloatVector.fromArray(FLOATS, e, i);
                    acc = acc.add(ev.mul(gap).blend(0f, ev.compare(VectorOperators.EQ, 0f)));
                }
                acc.intoArray(s.lanes, 0);
                blockSum = Lanes.sum(s.lanes);
            }
            for (; i < n; i++) {
                if (e[i] != 0) blockSum += e[i] * (m - z[off + i]);
            }
            total += blockSum;
        }
        return Math.log(sumExp) + total / sumExp;
    }

    /** Largest raw logit of row r (before softcap); NaN if any is NaN. */
    static float rawMax(Matrix logits, int r, Scratch s) {
        return exactMax(logits, r, 0f, s);
    }

    /** max_c z_c of row r with {@code Math.max} semantics (NaN if any is NaN, +0 over -0), z = softcap(x) when cap > 0. */
    static float exactMax(Matrix logits, int r, float softcap, Scratch s) {
        int cols = logits.cols();
        float m = Float.NEGATIVE_INFINITY;
        for (int c0 = 0; c0 < cols; c0 += Blocks.SIZE) {
            int n = Math.min(Blocks.SIZE, cols - c0);
            float[] z = logitsBlock(logits, r, c0, n, softcap, s, s.offset);
            m = Math.max(m, max(z, s.offset[0], n, s.lanes));
        }
        return m;
    }

    /** Column of the first element of row r equal to {@code rawMax} (the first NaN when it is NaN); -1 for no columns. */
    static int argmax(Matrix logits, int r, float rawMax, Scratch s) {
        int cols = logits.cols();
        for (int c0 = 0; c0 < cols; c0 += Blocks.SIZE) {
            int n = Math.min(Blocks.SIZE, cols - c0);
            int off = Blocks.read(logits, r, c0, n, s.input);
            int found = firstIndexOf(Blocks.array(logits, s.input), off, n, rawMax);
            if (found >= 0) return c0 + found;
        }
        return cols == 0 ? -1 : 0;
    }

    /** First i in [0, n) with a[off + i] == value (or is NaN when value is NaN); -1 if none. */
    static int firstIndexOf(float[] a, int off, int n, float value) {
        boolean nan = Float.isNaN(value);
        int i = 0;
        for (int bound = FLOATS.loopBound(n); i < bound; i += LANES) {
            FloatVector v = FloatVector.fromArray(FLOATS, a, off + i);
            VectorMask<Float> hit = nan ? v.test(VectorOperators.IS_NAN) : v.compare(VectorOperators.EQ, value);
            if (hit.anyTrue()) return i + hit.firstTrue();
        }
        for (; i < n; i++) {
            float v = a[off + i];
            if (nan ? Float.isNaN(v) : v == value) return i;
        }
        return -1;
    }

    // ------------------------------------------------------------------ gradient pass

    /**
     * Writes {@code g_c = slope_c (e_c coefP - coefW w_c)} for columns [from, to) of row r into the gradient, where
     * e_c = exp(z_c - m) and slope_c = 1 - (z_c / c)^2 under softcap c (else 1), w_c = 1 when {@code weights} is
     * null; {@code skip} (a column, or -1) is left for the caller, who writes it from the returned
     * {@code sum_{c != skip} e_c}. The logits of a block are read before its gradient is written, so the gradient
     * may be the logits themselves.
     */
    static double gradient(Matrix logits, Matrix grad, int r, float softcap, float m, float coefP, float coefW,
                           float[] weights, int skip, Scratch s) {
        int cols = logits.cols();
        double others = 0;
        for (int c0 = 0; c0 < cols; c0 += Blocks.SIZE) {
            int n = Math.min(Blocks.SIZE, cols - c0);
            float[] z = logitsBlock(logits, r, c0, n, softcap, s, s.offset);
            int zo = s.offset[0];
            float[] g = Blocks.array(grad, s.gradient);
            int go = Blocks.writeTarget(grad, r, c0);
            int local = skip - c0;
            if (local >= 0 && local < n) {
                // The skipped column splits the block: its own value stays for the caller.
                others += gradientRange(z, zo, g, go, 0, local, c0, softcap, m, coefP, coefW, weights, s.stageE, s.lanes);
                others += gradientRange(z, zo, g, go, local + 1, n, c0, softcap, m, coefP, coefW, weights, s.stageE, s.lanes);
            } else {
                others += gradientRange(z, zo, g, go, 0, n, c0, softcap, m, coefP, coefW, weights, s.stageE, s.lanes);
            }
            Blocks.write(grad, r, c0, n, s.gradient);
        }
        return others;
    }

    /** Columns [from, to) of a block; e_c = exp(z_c - m) is staged at {@code stage[c - from]}. */
    private static float gradientRange(float[] z, int zo, float[] g, int go, int from, int to, int col0, float softcap,
                                       float m, float coefP, float coefW, float[] weights, float[] stage, float[] lanes) {
        int n = to - from;
        float sum = FastExp.expBlock(z, zo + from, n, m, stage, lanes);
        int k = 0; // index in the range; column from + k
        int bound = FLOATS.loopBound(n);
        int gBase = go + from;
        int zBase = zo + from;
        int wBase = col0 + from;
        // One loop per option set: choosing a vector by a branch inside a loop makes C2 box it.
        if (softcap == 0 && (coefW == 0 || weights == null)) {
            // The common case: g = e coefP - coefW.
            for (; k < bound; k += LANES) FloatVector.fromArray(FLOATS, stage, k).fma(coefP, -coefW).intoArray(g, gBase + k);
        } else {
            FloatVector inverseCap = FloatVector.broadcast(FLOATS, softcap > 0 ? 1f / softcap : 0f);
            FloatVector one = FloatVector.broadcast(FLOATS, 1f);
            FloatVector p = FloatVector.broadcast(FLOATS, coefP);
            if (weights == null) {
                // softcap, no weights: g = (e coefP - coefW)(1 - (z/c)^2)
                for (; k < bound; k += LANES) {
                    FloatVector t = FloatVector.fromArray(FLOATS, z, zBase + k).mul(inverseCap);
                    FloatVector.fromArray(FLOATS, stage, k).fma(coefP, -coefW).mul(t.fma(t.neg(), one)).intoArray(g, gBase + k);
                }
            } else if (softcap == 0) {
                // weights, no softcap: g = e coefP - coefW w
                for (; k < bound; k += LANES) {
                    FloatVector.fromArray(FLOATS, stage, k).fma(p, FloatVector.fromArray(FLOATS, weights, wBase + k).mul(-coefW))
                            .intoArray(g, gBase + k);
                }
            } else {
                // weights and softcap
                for (; k < bound; k += LANES) {
                    FloatVector t = FloatVector.fromArray(FLOATS, z, zBase + k).mul(inverseCap);
                    FloatVector.fromArray(FLOATS, stage, k).fma(p, FloatVector.fromArray(FLOATS, weights, wBase + k).mul(-coefW))
                            .mul(t.fma(t.neg(), one)).intoArray(g, gBase + k);
                }
            }
        }
        for (; k < n; k++) {
            float value = Math.fma(stage[k], coefP, -coefW * (weights == null ? 1f : weights[wBase + k]));
            if (softcap > 0) {
                float t = z[zBase + k] / softcap;
                value *= 1 - t * t;
            }
            g[gBase + k] = value;
        }
        return sum;
    }

    /** d softcap(x)/dx = 1 - (z / c)^2 at z = softcap(x); 1 without softcap. */
    static double capSlope(float z, float softcap) {
        if (softcap <= 0) return 1;
        double t = z / (double) softcap;
        return 1 - t * t;
    }

    // ------------------------------------------------------------------ stored-exp passes

    /**
     * Whether row gradients of {@code logits} into {@code grad} can take the stored-exp passes, which keep the exps
     * in the gradient row between the statistics and the gradient pass (one exp per element instead of two): it
     * needs a float32 array to keep them in, no softcap (whose slope needs z again) and, when the gradient is the
     * logits themselves, nothing that reads the logits after the statistics pass ({@code readsLogitsLater}).
     */
    static boolean canStoreExps(Matrix logits, Matrix grad, float softcap, boolean readsLogitsLater) {
        return grad != null && Blocks.direct(grad) && softcap == 0
                && !(readsLogitsLater && grad.floatArray() == logits.floatArray());
    }

    /**
     * The statistics of row r ({@link #statistics}), storing the exps in the gradient row when {@code storeExps}
     * ({@link #statisticsStoringExps}); then {@link #gradientAfter} with the same {@code storeExps}.
     */
    static void statisticsFor(Matrix logits, Matrix grad, int r, float softcap, int target, boolean storeExps, Scratch s) {
        if (storeExps) statisticsStoringExps(logits, r, target, grad.floatArray(), (int) Blocks.index(grad, r, 0), s);
        else statistics(logits, r, softcap, target, s);
    }

    /**
     * The gradient pass of row r after {@link #statisticsFor}: {@code g_c = slope_c (e_c coefP - coefW w_c)} for
     * c != skip ({@link #gradient}, or {@link #scaleStoredExps} from the stored exps, where skip must be the
     * statistics' target); returns {@code sum_{c != skip} exp(z_c - m)}.
     */
    static double gradientAfter(Matrix logits, Matrix grad, int r, float softcap, float m, double coefP, float coefW,
                                float[] weights, int skip, boolean storeExps, Scratch s) {
        if (!storeExps) return gradient(logits, grad, r, softcap, m, (float) coefP, coefW, weights, skip, s);
        scaleStoredExps(grad.floatArray(), (int) Blocks.index(grad, r, 0), logits.cols(), m, coefP, coefW, weights, s);
        return s.rowOthers;
    }

    /**
     * The statistics pass of {@link #statistics}, for a row whose gradient is a float32 array, that also leaves the
     * exps in the gradient row, so the gradient pass ({@link #scaleStoredExps}) evaluates no exp again: one exp per
     * element instead of two, which is what bounds the kernel once the row is in cache.
     *
     * <p>For each block k of the row, with its own max b_k: e_c = exp(z_c - b_k) is written to g_c and the block's
     * sum of e_c over c != target is kept with b_k. Then m = max_k b_k and, with f_k = exp(b_k - m),
     * {@code others = sum_k f_k sum_{c in k, c != target} e_c} and {@code S = others + f_y e_y} (a sum of
     * non-negative terms: no cancellation). A block of only -inf gets e = 0 (exp(-inf - b) with b = -inf would be
     * NaN) and f = 0. Fills {@code s.rowMax}, {@code s.rowSumExp}, {@code s.rowOthers} (sum_{c != target}
     * exp(z_c - m)) and {@code s.rowTargetLogit}. The logits of a block are read before g is written, so g may be
     * the logits themselves; they are gone afterwards.
     */
    private static void statisticsStoringExps(Matrix logits, int r, int target, float[] g, int go, Scratch s) {
        int cols = logits.cols();
        float[] blockMax = s.blockMaxima(Chunks.count(cols, Blocks.SIZE));
        float[] blockOthers = s.blockOthers;
        float targetExp = 0;
        float targetBlockMax = Float.NEGATIVE_INFINITY;
        float m = Float.NEGATIVE_INFINITY;
        MemorySegment segment = Blocks.floatSegment(logits);
        for (int c0 = 0, k = 0; c0 < cols; c0 += Blocks.SIZE, k++) {
            int n = Math.min(Blocks.SIZE, cols - c0);
            int local = target - c0;
            boolean hasTarget = local >= 0 && local < n;
            float[] z = null;
            int off = 0;
            long at = 0;
            float b;
            if (segment != null) { // float32 in a segment: read in place
                at = Blocks.byteOffset(logits, r, c0);
                if (hasTarget) s.rowTargetLogit = segment.get(F32, at + 4L * local);
                b = blockShift(segment, at, logits, r, c0, n, s);
            } else {
                off = Blocks.read(logits, r, c0, n, s.input);
                z = Blocks.array(logits, s.input);
                if (hasTarget) s.rowTargetLogit = z[off + local];
                b = blockShift(z, off, n, s.lanes);
            }
            blockMax[k] = b;
            m = Math.max(m, b);
            if (b == Float.NEGATIVE_INFINITY) {
                java.util.Arrays.fill(g, go + c0, go + c0 + n, 0f);
                blockOthers[k] = 0;
                continue;
            }
            float blockSum = segment != null ? FastExp.expBlock(segment, at, n, b, g, go + c0, s.lanes)
                    : FastExp.expBlock(z, off, n, b, g, go + c0, s.lanes);
            if (hasTarget) {
                targetExp = g[go + c0 + local];
                targetBlockMax = b;
                g[go + c0 + local] = 0; // out of the block's sum; the caller writes g_y
                // summed again without e_y: the block's sum less e_y would cancel when p_y is near 1
                blockSum = sum(g, go + c0, n, s.lanes);
            }
            blockOthers[k] = blockSum;
        }
        double others = 0;
        double sumExp = 0;
        if (m != Float.NEGATIVE_INFINITY) { // a row of only -inf: S = 0, as in statistics
            for (int k = 0; k * Blocks.SIZE < cols; k++) others += blockOthers[k] * Math.exp((double) blockMax[k] - m);
            sumExp = others + (target >= 0 ? targetExp * Math.exp((double) targetBlockMax - m) : 0);
        }
        if (m == 0 || Double.isNaN(sumExp)) {
            // As in statistics: m exactly, from the logits while they are there. Written over (in place), what is
            // left to tell is only whether S is NaN (m's zero sign and NaN against +inf change no output then).
            boolean logitsKept = logits.floatArray() != g;
            m = logitsKept ? exactMax(logits, r, 0f, s) : Double.isNaN(sumExp) ? Float.NaN : m;
        }
        s.rowMax = m;
        s.rowSumExp = sumExp;
        s.rowOthers = others;
    }

    /**
     * The gradient pass after {@link #statisticsStoringExps}: {@code g_c = e_c f_k coefP - coefW w_c}, with the
     * stored e_c = exp(z_c - b_k) and f_k = exp(b_k - m), so e_c f_k = exp(z_c - m); f_k coefP is rounded once per
     * block. Every column is written, the target's too: the caller overwrites it.
     */
    private static void scaleStoredExps(float[] g, int go, int cols, float m, double coefP, float coefW, float[] weights, Scratch s) {
        float[] blockMax = s.blockMaxima(Chunks.count(cols, Blocks.SIZE));
        for (int c0 = 0, k = 0; c0 < cols; c0 += Blocks.SIZE, k++) {
            int n = Math.min(Blocks.SIZE, cols - c0);
            float factor = (float) (coefP * Math.exp((double) blockMax[k] - m));
            int base = go + c0;
            // One loop per option set: choosing a vector by a branch inside a loop makes C2 box it.
            if (weights == null || coefW == 0) {
                scaleBlock(g, base, n, factor, -coefW);
            } else {
                FloatVector f = FloatVector.broadcast(FLOATS, factor);
                int i = 0;
                for (int bound = FLOATS.loopBound(n); i < bound; i += LANES) {
                    FloatVector.fromArray(FLOATS, g, base + i).fma(f, FloatVector.fromArray(FLOATS, weights, c0 + i).mul(-coefW))
                            .intoArray(g, base + i);
                }
                for (; i < n; i++) g[base + i] = Math.fma(g[base + i], factor, -coefW * weights[c0 + i]);
            }
        }
    }

    /** {@code g[base + i] = g[base + i] factor + addend} for i in [0, n): the gradient pass of the stored exps, unweighted. */
    static void scaleBlock(float[] g, int base, int n, float factor, float addend) {
        int i = 0;
        for (int bound = FLOATS.loopBound(n); i < bound; i += LANES) FloatVector.fromArray(FLOATS, g, base + i).fma(factor, addend).intoArray(g, base + i);
        for (; i < n; i++) g[base + i] = Math.fma(g[base + i], factor, addend);
    }

    // ------------------------------------------------------------------ probability targets

    /**
     * For probability targets q with smoothing e: q'_c = (1 - e) q_c + e / C. Fills {@code s.massAndGap} with
     * M = sum_c w_c q'_c and T = sum_c w_c q'_c (m - z_c), terms with w_c q'_c = 0 counting 0 even where z_c = -inf;
     * the row loss is then M log S + T (= sum_c w_c q'_c (lse - z_c)).
     */
    static void probabilityTerms(Matrix logits, Matrix targets, int r, float softcap, float[] weights, float m,
                                 float smoothing, Scratch s) {
        int cols = logits.cols();
        float keep = 1 - smoothing;
        float uniform = smoothing / cols;
        double mass = 0;
        double gap = 0;
        for (int c0 = 0; c0 < cols; c0 += Blocks.SIZE) {
            int n = Math.min(Blocks.SIZE, cols - c0);
            float[] z = logitsBlock(logits, r, c0, n, softcap, s, s.offset);
            int zo = s.offset[0];
            int qo = Blocks.read(targets, r, c0, n, s.target);
            float[] q = Blocks.array(targets, s.target);
            float[] wq = weightedTargets(q, qo, n, keep, uniform, weights, c0, s.stageValue);
            float blockMass = sum(wq, n, s.lanes);
            float blockGap = 0;
            int i = 0;
            if (n >= SCALAR_BELOW) {
                FloatVector gapAcc = FloatVector.zero(FLOATS);
                FloatVector max = FloatVector.broadcast(FLOATS, m);
                for (int bound = FLOATS.loopBound(n); i < bound; i += LANES) {
                    FloatVector w = FloatVector.fromArray(FLOATS, wq, i);
                    FloatVector term = w.mul(max.sub(FloatVector.fromArray(FLOATS, z, zo + i)));
                    gapAcc = gapAcc.add(term.blend(0f, w.compare(VectorOperators.EQ, 0f)));
                }
                gapAcc.intoArray(s.lanes, 0);
                blockGap = Lanes.sum(s.lanes);
            }
            for (; i < n; i++) {
                if (wq[i] != 0) blockGap += wq[i] * (m - z[zo + i]);
            }
            mass += blockMass;
            gap += blockGap;
        }
        s.probabilityMass = mass;
        s.probabilityGap = gap;
    }

    /**
     * Gradient for probability targets: g_j = slope_j scale ((e_j M / S - w_j q'_j) + e_j 2 lambda lse / S), with
     * e_j = exp(z_j - m). The difference p_j M - w_j q'_j is formed first, by one fma, before any scaling, so a
     * class whose probability equals its target (one class: p = q' = 1) gets exactly the z-loss term.
     */
    static void probabilityGradient(Matrix logits, Matrix targets, Matrix grad, int r, float softcap, float[] weights,
                                    float m, float smoothing, float massOverS, float scale, float zLossOverS, Scratch s) {
        int cols = logits.cols();
        float keep = 1 - smoothing;
        float uniform = smoothing / cols;
        float inverseCap = softcap > 0 ? 1f / softcap : 0f;
        for (int c0 = 0; c0 < cols; c0 += Blocks.SIZE) {
            int n = Math.min(Blocks.SIZE, cols - c0);
            float[] z = logitsBlock(logits, r, c0, n, softcap, s, s.offset);
            int zo = s.offset[0];
            int qo = Blocks.read(targets, r, c0, n, s.target);
            float[] q = Blocks.array(targets, s.target);
            float[] g = Blocks.array(grad, s.gradient);
            int go = Blocks.writeTarget(grad, r, c0);
            // Staged: e = exp(z - m), then w q', then the gradient; one vector path per loop.
            FastExp.expBlock(z, zo, n, m, s.stageE, s.lanes);
            float[] wq = weightedTargets(q, qo, n, keep, uniform, weights, c0, s.stageValue);
            int i;
            int bound = FLOATS.loopBound(n);
            FloatVector mass = FloatVector.broadcast(FLOATS, massOverS);
            FloatVector scaleV = FloatVector.broadcast(FLOATS, scale);
            FloatVector one = FloatVector.broadcast(FLOATS, 1f);
            for (i = 0; i < bound; i += LANES) {
                FloatVector e = FloatVector.fromArray(FLOATS, s.stageE, i);
                FloatVector value = e.fma(mass, FloatVector.fromArray(FLOATS, wq, i).neg()).fma(scaleV, e.mul(zLossOverS));
                value.intoArray(g, go + i);
            }
            if (softcap > 0) {
                for (i = 0; i < bound; i += LANES) {
                    FloatVector t = FloatVector.fromArray(FLOATS, z, zo + i).mul(inverseCap);
                    FloatVector.fromArray(FLOATS, g, go + i).mul(t.fma(t.neg(), one)).intoArray(g, go + i);
                }
            }
            for (i = bound; i < n; i++) {
                float zc = z[zo + i];
                float e = s.stageE[i];
                float value = Math.fma(Math.fma(e, massOverS, -wq[i]), scale, e * zLossOverS);
                if (softcap > 0) {
                    float t = zc * inverseCap;
                    value *= 1 - t * t;
                }
                g[go + i] = value;
            }
            Blocks.write(grad, r, c0, n, s.gradient);
        }
    }

    /** {@code out[i] = w_c ((1 - e) q_c + e / C)} for the n columns c = c0 + i of a block (w = 1 when null). */
    private static float[] weightedTargets(float[] q, int qo, int n, float keep, float uniform, float[] weights, int c0, float[] out) {
        int i = 0;
        int bound = FLOATS.loopBound(n);
        for (; i < bound; i += LANES) FloatVector.fromArray(FLOATS, q, qo + i).fma(keep, uniform).intoArray(out, i);
        for (; i < n; i++) out[i] = Math.fma(q[qo + i], keep, uniform);
        if (weights != null) {
            for (i = 0; i < bound; i += LANES) {
                FloatVector.fromArray(FLOATS, out, i).mul(FloatVector.fromArray(FLOATS, weights, c0 + i)).intoArray(out, i);
            }
            for (; i < n; i++) out[i] *= weights[c0 + i];
        }
        return out;
    }
}
