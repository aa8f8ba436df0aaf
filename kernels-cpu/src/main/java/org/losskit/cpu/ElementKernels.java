package org.losskit.cpu;

import static org.losskit.cpu.VectorShapes.FLOATS;
import static org.losskit.cpu.VectorShapes.LANES;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

import org.losskit.GaussianNllOptions;
import org.losskit.KlDivOptions;
import org.losskit.Matrix;
import org.losskit.PointwiseLoss;

/**
 * Element-wise losses in one pass each: value and slope per element from input x, target t (and a variance or
 * column weight where the loss has one), the optional per-element weight w multiplying both, the gradient
 * {@code scale * w * slope} and the unreduced losses written in the same loop. Formulas are PyTorch's, as in
 * {@link org.losskit.reference.ReferenceBackend}; d = x - t throughout.
 *
 * <p>Loops run over whole vectors only: the last partial vector of a block is copied into zero-padded scratch
 * with weight 0 in the padding lanes (so they add nothing) and run through the same loop, so each formula is
 * written once.
 */
final class ElementKernels {
    private static final float LOG_TWO = (float) Math.log(2);
    private static final float HALF_LOG_TWO_PI = (float) (0.5 * Math.log(2 * Math.PI));
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    enum Kind { MSE, L1, SMOOTH_L1, HUBER, LOG_COSH, QUANTILE, HINGE, SQUARED_HINGE, POISSON_LOG_INPUT, POISSON,
        BCE_WITH_LOGITS, SIGMOID_FOCAL, KL_DIV, KL_DIV_LOG_TARGET, GAUSSIAN_NLL, PENALTY }

    /**
     * One formula and its parameters: {@code a}, {@code b} are beta, delta, tau, eps, alpha, gamma or the L1 share
     * as the kind needs; {@code flag} is Poisson's or Gaussian NLL's {@code full}; {@code columnWeights} is BCE's pos_weight.
     * Set per call in the calling thread's {@link CallFrame} (which the workers read), so a call allocates none.
     */
    static final class Kernel {
        private Kind kind;
        private float a;
        private float b;
        private boolean flag;
        private Matrix columnWeights;

        Kernel set(Kind kind, float a, float b, boolean flag, Matrix columnWeights) {
            this.kind = kind;
            this.a = a;
            this.b = b;
            this.flag = flag;
            this.columnWeights = columnWeights;
            return this;
        }

        /** Drops the reference to the caller's column weights. */
        void clear() {
            set(null, 0, 0, false, null);
        }

        Kind kind() { return kind; }
        float a() { return a; }
        float b() { return b; }
        boolean flag() { return flag; }
        Matrix columnWeights() { return columnWeights; }
    }

    private ElementKernels() {}

    /** Sets {@code into} to the formula of {@code loss}. */
    static Kernel of(PointwiseLoss loss, Kernel into) {
        return switch (loss) {
            case PointwiseLoss.Mse m -> into.set(Kind.MSE, 0, 0, false, null);
            case PointwiseLoss.L1 m -> into.set(Kind.L1, 0, 0, false, null);
            case PointwiseLoss.SmoothL1 m -> into.set(m.beta() == 0 ? Kind.L1 : Kind.SMOOTH_L1, (float) m.beta(), 0, false, null);
            case PointwiseLoss.Huber h -> into.set(Kind.HUBER, (float) h.delta(), 0, false, null);
            case PointwiseLoss.LogCosh l -> into.set(Kind.LOG_COSH, 0, 0, false, null);
            case PointwiseLoss.Quantile q -> into.set(Kind.QUANTILE, (float) q.tau(), 0, false, null);
            case PointwiseLoss.Hinge h -> into.set(Kind.HINGE, 0, 0, false, null);
            case PointwiseLoss.SquaredHinge h -> into.set(Kind.SQUARED_HINGE, 0, 0, false, null);
            case PointwiseLoss.PoissonNll p -> into.set(p.logInput() ? Kind.POISSON_LOG_INPUT : Kind.POISSON, (float) p.eps(), 0, p.full(), null);
            case PointwiseLoss.BceWithLogits b -> into.set(Kind.BCE_WITH_LOGITS, 0, 0, false, b.posWeight());
            case PointwiseLoss.SigmoidFocal f -> into.set(Kind.SIGMOID_FOCAL, (float) f.alpha(), (float) f.gamma(), false, null);
        };
    }

    static Kernel klDiv(KlDivOptions o, Kernel into) {
        return into.set(o.logTarget() ? Kind.KL_DIV_LOG_TARGET : Kind.KL_DIV, 0, 0, false, null);
    }

    static Kernel gaussianNll(GaussianNllOptions o, Kernel into) {
        return into.set(Kind.GAUSSIAN_NLL, (float) o.eps(), 0, o.full(), null);
    }

    /** strength (share |w| + (1 - share) w^2 / 2); the strength is applied by the caller (as the scale). */
    static Kernel penalty(double l1Share, Kernel into) {
        return into.set(Kind.PENALTY, (float) l1Share, 0, false, null);
    }

    /**
     * Flat elements [from, to) of {@code input}: writes the gradient (scale * w * slope) and losses (w * value) when
     * asked; returns the sum of w * value.
     */
    static double range(Kernel kernel, Matrix input, Matrix target, Matrix weight, Matrix extra, Matrix grad, Matrix losses,
                        long from, long to, float scale, Scratch s) {
        int cols = input.cols();
        float[] columnWeights = s.weights(kernel.columnWeights());
        double total = 0;
        for (long i = from; i < to; ) {
            int r = (int) (i / cols);
            int c = (int) (i % cols);
            int n = (int) Math.min(Math.min(cols - c, to - i), Blocks.SIZE);
            int xo = Blocks.read(input, r, c, n, s.input);
            int to_ = target == null ? 0 : Blocks.read(target, r, c, n, s.target);
            int wo = weight == null ? 0 : Blocks.read(weight, r, c, n, s.weight);
            int vo = extra == null ? 0 : Blocks.read(extra, r, c, n, s.extra);
            Block b = s.block;
            b.x = Blocks.array(input, s.input);
            b.xo = xo;
            b.t = target == null ? null : Blocks.array(target, s.target);
            b.to = to_;
            b.w = weight == null ? null : Blocks.array(weight, s.weight);
            b.wo = wo;
            b.v = extra == null ? null : Blocks.array(extra, s.extra);
            b.vo = vo;
            b.cw = columnWeights == null ? s.ones : columnWeights;
            b.ones = s.ones;
            b.cwo = columnWeights == null ? 0 : c;
            b.g = grad == null ? null : Blocks.array(grad, s.gradient);
            b.go = grad == null ? 0 : Blocks.writeTarget(grad, r, c);
            b.l = losses == null ? null : s.losses;
            b.e = s.stageE;
            b.log1pE = s.stageLog1p;
            b.sigmoid = s.stageSigmoid;
            b.sigmoidOfNegative = s.stageSigmoidOfNegative;
            b.exp = s.stageExp;
            b.log = s.stageLog;
            b.logTarget = s.stageLogTarget;
            b.value = s.stageValue;
            b.slope = s.stageSlope;
            b.lanes = s.lanes;
            b.redo = s.redo;
            b.lo = 0;
            total += block(kernel, b, n, scale, s);
            if (grad != null) Blocks.write(grad, r, c, n, s.gradient);
            if (losses != null) writeFlat(losses, i, n, s.losses);
            i += n;
        }
        return total;
    }

    /** Arrays and offsets of one block; a mutable holder in the scratch so that a block costs no allocation. */
    static final class Block {
        float[] x, t, w, v, cw, g, l;
        /** Ones, for a kernel that multiplies by weights where there are none (times 1 is exact). */
        float[] ones;
        /**
         * Stage buffers, indexed like the block: e = exp(-|x|), log1p(e), sigmoid(x) and sigmoid(-x) = 1 - sigmoid(x),
         * filled by {@link #logistic}.
         */
        float[] e, log1pE, sigmoid, sigmoidOfNegative;
        /**
         * Stage buffers for the formulas with an exp or log of an input, filled by FastExp and FastLog (never the
         * JDK's EXP/LOG/POW, whose compiled and interpreted bits differ): what each holds is said where it is filled.
         */
        float[] exp, log, logTarget;
        /** Staged unweighted value and slope of each element, finished by {@link #finish}. */
        float[] value, slope;
        /** One vector's lanes, for the fixed-order sum. */
        float[] lanes;
        /** Indices (in the block) of the elements a kernel computes again in double ({@link #poisson}). */
        int[] redo;
        int xo, to, wo, vo, cwo, go, lo;
    }

    /** Whole vectors of the block, then its last partial vector through zero-padded scratch. */
    private static double block(Kernel k, Block b, int n, float scale, Scratch s) {
        int whole = FLOATS.loopBound(n);
        double total = whole == 0 ? 0 : vectors(k, b, 0, whole, scale);
        int rest = n - whole;
        if (rest > 0) {
            Block tail = s.tailBlock;
            float[][] pad = s.tail;
            tail.x = padded(b.x, b.xo + whole, rest, 0f, pad[0]);
            tail.t = b.t == null ? null : padded(b.t, b.to + whole, rest, 0f, pad[1]);
            tail.w = b.w == null ? ones(rest, pad[2]) : padded(b.w, b.wo + whole, rest, 0f, pad[2]);
            tail.v = b.v == null ? null : padded(b.v, b.vo + whole, rest, 1f, pad[3]);
            tail.cw = padded(b.cw, b.cwo + whole, rest, 1f, pad[4]);
            tail.g = b.g == null ? null : pad[5];
            tail.l = b.l == null ? null : pad[6];
            tail.e = b.e;
            tail.log1pE = b.log1pE;
            tail.sigmoid = b.sigmoid;
            tail.sigmoidOfNegative = b.sigmoidOfNegative;
            tail.exp = b.exp;
            tail.log = b.log;
            tail.logTarget = b.logTarget;
            tail.value = b.value;
            tail.slope = b.slope;
            tail.lanes = b.lanes;
            tail.ones = b.ones;
            tail.redo = b.redo;
            tail.xo = tail.to = tail.wo = tail.vo = tail.cwo = tail.go = tail.lo = 0;
            total += vectors(k, tail, 0, LANES, scale);
            if (b.g != null) System.arraycopy(pad[5], 0, b.g, b.go + whole, rest);
            if (b.l != null) System.arraycopy(pad[6], 0, b.l, b.lo + whole, rest);
        }
        return total;
    }

    private static float[] padded(float[] source, int from, int count, float fill, float[] into) {
        System.arraycopy(source, from, into, 0, count);
        java.util.Arrays.fill(into, count, into.length, fill);
        return into;
    }

    private static float[] ones(int count, float[] into) {
        java.util.Arrays.fill(into, 0, count, 1f);
        java.util.Arrays.fill(into, count, into.length, 0f);
        return into;
    }

    /**
     * Elements [from, to) of the block, to - from a multiple of the lanes. Each formula is its own method, so C2
     * compiles each loop as a unit within its inlining budget (one method holding every loop exceeded it, and the
     * Vector API calls it could no longer inline boxed every vector).
     */
    private static double vectors(Kernel k, Block b, int from, int to, float scale) {
        return switch (k.kind()) {
            case MSE -> mse(k, b, from, to, scale);
            case L1 -> l1(k, b, from, to, scale);
            case SMOOTH_L1 -> smoothL1(k, b, from, to, scale);
            case HUBER -> huber(k, b, from, to, scale);
            case LOG_COSH -> logCosh(k, b, from, to, scale);
            case QUANTILE -> quantile(k, b, from, to, scale);
            case HINGE -> hinge(k, b, from, to, scale);
            case SQUARED_HINGE -> squaredHinge(k, b, from, to, scale);
            case POISSON_LOG_INPUT, POISSON -> poisson(k, b, from, to, scale);
            case BCE_WITH_LOGITS -> bceWithLogits(k, b, from, to, scale);
            case SIGMOID_FOCAL -> sigmoidFocal(k, b, from, to, scale);
            case KL_DIV -> klDiv(k, b, from, to, scale);
            case KL_DIV_LOG_TARGET -> klDivLogTarget(k, b, from, to, scale);
            case GAUSSIAN_NLL -> gaussianNll(k, b, from, to, scale);
            case PENALTY -> penalty(k, b, from, to, scale);
        };
    }

    private static double mse(Kernel k, Block b, int from, int to, float scale) {
        for (int i = from; i < to; i += LANES) {
            FloatVector d = FloatVector.fromArray(FLOATS, b.x, b.xo + i).sub(FloatVector.fromArray(FLOATS, b.t, b.to + i));
            d.mul(d).intoArray(b.value, i); // d^2, slope 2d
            d.add(d).intoArray(b.slope, i);
        }
        return finish(b, from, to, scale);
    }

    private static double l1(Kernel k, Block b, int from, int to, float scale) {
        for (int i = from; i < to; i += LANES) {
            FloatVector d = FloatVector.fromArray(FLOATS, b.x, b.xo + i).sub(FloatVector.fromArray(FLOATS, b.t, b.to + i));
            d.abs().intoArray(b.value, i); // |d|, slope sign d (0 at 0)
            d.mul(0f).blend(1f, d.compare(VectorOperators.GT, 0f)).blend(-1f, d.compare(VectorOperators.LT, 0f)).intoArray(b.slope, i);
        }
        return finish(b, from, to, scale);
    }

    private static double smoothL1(Kernel k, Block b, int from, int to, float scale) {
        float a = k.a();
        float inverseBeta = 1f / a;
        for (int i = from; i < to; i += LANES) {
            // |d| < beta: 0.5 d^2 / beta (slope d / beta); else |d| - 0.5 beta (slope sign d)
            FloatVector d = FloatVector.fromArray(FLOATS, b.x, b.xo + i).sub(FloatVector.fromArray(FLOATS, b.t, b.to + i));
            FloatVector abs = d.abs();
            VectorMask<Float> inner = abs.compare(VectorOperators.LT, a);
            FloatVector value = abs.sub(0.5f * a).blend(d.mul(d).mul(0.5f * inverseBeta), inner);
            FloatVector slope = d.mul(0f).blend(1f, d.compare(VectorOperators.GT, 0f)).blend(-1f, d.compare(VectorOperators.LT, 0f)).blend(d.mul(inverseBeta), inner);
            value.intoArray(b.value, i);
            slope.intoArray(b.slope, i);
        }
        return finish(b, from, to, scale);
    }

    private static double huber(Kernel k, Block b, int from, int to, float scale) {
        float a = k.a();
        for (int i = from; i < to; i += LANES) {
            // |d| < delta: 0.5 d^2 (slope d); else delta (|d| - 0.5 delta) (slope delta sign d)
            FloatVector d = FloatVector.fromArray(FLOATS, b.x, b.xo + i).sub(FloatVector.fromArray(FLOATS, b.t, b.to + i));
            FloatVector abs = d.abs();
            VectorMask<Float> inner = abs.compare(VectorOperators.LT, a);
            FloatVector value = abs.sub(0.5f * a).mul(a).blend(d.mul(d).mul(0.5f), inner);
            FloatVector slope = d.mul(0f).blend(1f, d.compare(VectorOperators.GT, 0f)).blend(-1f, d.compare(VectorOperators.LT, 0f)).mul(a).blend(d, inner);
            value.intoArray(b.value, i);
            slope.intoArray(b.slope, i);
        }
        return finish(b, from, to, scale);
    }

    private static double logCosh(Kernel k, Block b, int from, int to, float scale) {
        // Stage: e2 = exp(-2|d|) (a separate loop, for the same reason as in logistic)
        for (int i = from; i < to; i += LANES) FloatVector.fromArray(FLOATS, b.x, b.xo + i).sub(FloatVector.fromArray(FLOATS, b.t, b.to + i)).abs().mul(-2f).intoArray(b.e, i);
        FastExp.expBlock(b.e, from, to - from, 0f, b.e);
        FastLog1p.log1pBlock(b.e, to, b.log1pE);
        FloatVector one = FloatVector.broadcast(FLOATS, 1f);
        for (int i = from; i < to; i += LANES) {
            // log cosh d = |d| + log1p(e2) - log 2; slope tanh d = d.mul(0f).blend(1f, d.compare(VectorOperators.GT, 0f)).blend(-1f, d.compare(VectorOperators.LT, 0f)) (1 - e2) / (1 + e2)
            FloatVector d = FloatVector.fromArray(FLOATS, b.x, b.xo + i).sub(FloatVector.fromArray(FLOATS, b.t, b.to + i));
            FloatVector e2 = FloatVector.fromArray(FLOATS, b.e, i);
            FloatVector value = d.abs().add(FloatVector.fromArray(FLOATS, b.log1pE, i)).sub(LOG_TWO);
            FloatVector tanh = one.sub(e2).div(one.add(e2)).mul(d.mul(0f).blend(1f, d.compare(VectorOperators.GT, 0f)).blend(-1f, d.compare(VectorOperators.LT, 0f)));
            value.intoArray(b.value, i);
            tanh.intoArray(b.slope, i);
        }
        return finish(b, from, to, scale);
    }

    private static double quantile(Kernel k, Block b, int from, int to, float scale) {
        float a = k.a();
        for (int i = from; i < to; i += LANES) {
            // u = t - x; loss = max(tau u, (tau - 1) u); slope -tau (u > 0), 1 - tau (u < 0), 1/2 - tau (u = 0)
            FloatVector u = FloatVector.fromArray(FLOATS, b.t, b.to + i).sub(FloatVector.fromArray(FLOATS, b.x, b.xo + i));
            FloatVector value = u.mul(a).max(u.mul(a - 1f));
            FloatVector slope = FloatVector.broadcast(FLOATS, 0.5f - a)
                    .blend(-a, u.compare(VectorOperators.GT, 0f))
                    .blend(1f - a, u.compare(VectorOperators.LT, 0f));
            value.intoArray(b.value, i);
            slope.intoArray(b.slope, i);
        }
        return finish(b, from, to, scale);
    }

    private static double hinge(Kernel k, Block b, int from, int to, float scale) {
        for (int i = from; i < to; i += LANES) {
            // v = 1 - t x; loss max(0, v); slope -t where v > 0
            FloatVector t = FloatVector.fromArray(FLOATS, b.t, b.to + i);
            FloatVector v = t.neg().fma(FloatVector.fromArray(FLOATS, b.x, b.xo + i), FloatVector.broadcast(FLOATS, 1f));
            FloatVector slope = t.neg().blend(0f, v.compare(VectorOperators.GT, 0f).not());
            v.max(0f).intoArray(b.value, i);
            slope.intoArray(b.slope, i);
        }
        return finish(b, from, to, scale);
    }

    private static double squaredHinge(Kernel k, Block b, int from, int to, float scale) {
        for (int i = from; i < to; i += LANES) {
            // m = max(0, 1 - t x); loss m^2; slope -2 t m
            FloatVector t = FloatVector.fromArray(FLOATS, b.t, b.to + i);
            FloatVector m = t.neg().fma(FloatVector.fromArray(FLOATS, b.x, b.xo + i), FloatVector.broadcast(FLOATS, 1f)).max(0f);
            m.mul(m).intoArray(b.value, i);
            t.mul(m).mul(-2f).intoArray(b.slope, i);
        }
        return finish(b, from, to, scale);
    }

    /**
     * Poisson NLL: exp(x) - t x (log input) or x - t log(x + eps), plus Stirling's t log t - t + 0.5 log(2 pi t)
     * where t > 1 when {@code full}; slope exp(x) - t or 1 - t / (x + eps). Each is a difference of terms that can be
     * large while it is near 0 (exp(x) = t x near x = 5 for t = 30: terms near 150), and float32 terms carry an
     * absolute error of a few ulp of the largest, many times the bound of a loss near 0. So an element whose value
     * or slope is small against its terms, |v| * 16 < T with T the sum of the terms' magnitudes, is computed again in
     * double ({@link #poissonInDouble}). Elsewhere the float32 error, at most about 3 ulp of T (FastExp's 1.5 ulp,
     * FastLog's 1, half an ulp per rounding), is at most 3 * 2^-23 T < 3 * 2^-23 * 16 |v| = 5.8e-6 |v|, within
     * Op.POISSON_NLL's 1e-5 relative. About 9% of the elements of random inputs (x normal with sigma 2, counts 0-6)
     * take the double path, and every element of a fit near a zero loss.
     */
    private static double poisson(Kernel k, Block b, int from, int to, float scale) {
        float a = k.a();
        boolean logInput = k.kind() == Kind.POISSON_LOG_INPUT;
        boolean full = k.flag();
        int n = to - from;
        if (logInput) FastExp.expAnyBlock(b.x, b.xo + from, n, 1f, b.exp); // exp(x)
        else FastLog.logBlock(b.x, b.xo + from, n, a, b.log); // log(x + eps)
        if (full) FastLog.logBlock(b.t, b.to + from, n, 0f, b.logTarget); // log t
        FloatVector one = FloatVector.broadcast(FLOATS, 1f);
        for (int i = from; i < to; i += LANES) {
            FloatVector x = FloatVector.fromArray(FLOATS, b.x, b.xo + i);
            FloatVector t = FloatVector.fromArray(FLOATS, b.t, b.to + i);
            FloatVector value;
            FloatVector slope;
            FloatVector valueTerms;
            FloatVector slopeTerms;
            if (logInput) {
                // exp(x) - t x; slope exp(x) - t
                FloatVector ex = FloatVector.fromArray(FLOATS, b.exp, i);
                FloatVector tx = t.mul(x);
                value = ex.sub(tx);
                slope = ex.sub(t);
                valueTerms = ex.add(tx.abs());
                slopeTerms = ex.add(t.abs());
            } else {
                // x - t log(x + eps); slope 1 - t / (x + eps)
                FloatVector tLog = t.mul(FloatVector.fromArray(FLOATS, b.log, i));
                FloatVector ratio = t.div(x.add(a));
                value = x.sub(tLog);
                slope = one.sub(ratio);
                valueTerms = x.abs().add(tLog.abs());
                slopeTerms = ratio.abs().add(one);
            }
            if (full) {
                // Stirling: t log t - t + 0.5 log(2 pi t) where t > 1
                VectorMask<Float> counted = t.compare(VectorOperators.GT, 1f);
                FloatVector logT = FloatVector.fromArray(FLOATS, b.logTarget, i);
                FloatVector tLogT = t.mul(logT);
                FloatVector halfLog = logT.mul(0.5f).add(HALF_LOG_TWO_PI);
                value = value.add(tLogT.sub(t).add(halfLog).blend(0f, counted.not()));
                valueTerms = valueTerms.add(tLogT.abs().add(t).add(halfLog.abs()).blend(0f, counted.not()));
            }
            value.intoArray(b.value, i);
            slope.intoArray(b.slope, i);
            valueTerms.intoArray(b.e, i); // stage buffers poisson does not otherwise use
            slopeTerms.intoArray(b.log1pE, i);
        }
        int count = cancelledElements(b, from, to);
        for (int j = 0; j < count; j++) poissonInDouble(logInput, full, a, b, b.redo[j]); // no vector is live across the calls
        return finish(b, from, to, scale);
    }

    /**
     * Collects into {@code b.redo} the elements of [from, to) whose staged value or slope is small against its terms
     * (staged in {@code b.e} and {@code b.log1pE}): |v| * 16 < T. Returns how many.
     */
    private static int cancelledElements(Block b, int from, int to) {
        int count = 0;
        for (int i = from; i < to; i += LANES) {
            VectorMask<Float> cancelled = FloatVector.fromArray(FLOATS, b.value, i).abs().mul(16f)
                    .compare(VectorOperators.LT, FloatVector.fromArray(FLOATS, b.e, i))
                    .or(FloatVector.fromArray(FLOATS, b.slope, i).abs().mul(16f)
                            .compare(VectorOperators.LT, FloatVector.fromArray(FLOATS, b.log1pE, i)));
            if (!cancelled.anyTrue()) continue;
            for (long lanes = cancelled.toLong(); lanes != 0; lanes &= lanes - 1) b.redo[count++] = i + Long.numberOfTrailingZeros(lanes);
        }
        return count;
    }

    /**
     * Element {@code e} of the block of {@link #poisson} in double, into {@code b.value[e]} and {@code b.slope[e]}: the
     * product t x of two floats is exact and Math.exp and Math.log are within an ulp of double, so the error before
     * the float32 rounding is a few 2^-53 T, below the bound's absolute 1e-6 for terms T up to about 1e9, however
     * small the loss. Math.exp and Math.log, not StrictMath (about 10 ns slower an element): HotSpot's interpreter
     * and compilers call the same intrinsic code for them, so compiled and interpreted results have the same bits
     * (ThreadingTest's Poisson workloads, whose cold calls run interpreted, take this path and check it).
     */
    private static void poissonInDouble(boolean logInput, boolean full, float eps, Block b, int e) {
        double x = b.x[b.xo + e];
        double t = b.t[b.to + e];
        double value;
        double slope;
        if (logInput) {
            double ex = Math.exp(x);
            value = ex - t * x;
            slope = ex - t;
        } else {
            double shifted = x + eps;
            value = x - t * Math.log(shifted);
            slope = 1 - t / shifted;
        }
        if (full && t > 1) value += t * Math.log(t) - t + 0.5 * Math.log(2 * Math.PI * t);
        b.value[e] = (float) value;
        b.slope[e] = (float) slope;
    }

    /**
     * e = exp(-|x|) and log1p(e) staged ({@link #softplusStages}); then one loop forms value and slope, weighted, and
     * writes the gradient and the unreduced losses and sums the loss where {@link #finish} would, without staging
     * value and slope (two stores and a pass less a vector; the same operations in the same order, so the same
     * bits). Without per-element weights the weight is a one (times 1 is exact). Measured: docs/BENCHMARKS.md.
     */
    private static double bceWithLogits(Kernel k, Block b, int from, int to, float scale) {
        softplusStages(b, b.x, b.xo, from, to);
        float[] w = b.w != null ? b.w : b.ones;
        int wo = b.w != null ? b.wo : 0;
        FloatVector one = FloatVector.broadcast(FLOATS, 1f);
        FloatVector sum = FloatVector.zero(FLOATS);
        for (int i = from; i < to; i += LANES) {
            // loss (1 - t) x + (1 + (pw - 1) t) softplus(-x) = (1 - t) softplus(x) + pw t softplus(-x): two terms
            // >= 0, each exactly 0 where its coefficient is (so x = -inf, t = 0 gives 0, not 0 * inf), with
            // softplus(+-x) = log1p(e) + max(+-x, 0), e = exp(-|x|).
            // slope sigmoid(x) (1 + (pw - 1) t) - pw t = (1 - t) sigmoid(x) - pw t sigmoid(-x): no 1 - s is formed.
            FloatVector x = FloatVector.fromArray(FLOATS, b.x, b.xo + i);
            FloatVector t = FloatVector.fromArray(FLOATS, b.t, b.to + i);
            FloatVector pw = FloatVector.fromArray(FLOATS, b.cw, b.cwo + i); // ones when there is no pos_weight
            FloatVector weight = FloatVector.fromArray(FLOATS, w, wo + i);
            FloatVector log1pE = FloatVector.fromArray(FLOATS, b.log1pE, i);
            FloatVector negativeCoefficient = one.sub(t);
            FloatVector positiveCoefficient = pw.mul(t);
            FloatVector value = weighted(negativeCoefficient, log1pE.add(positivePart(x)))
                    .add(weighted(positiveCoefficient, log1pE.add(positivePart(x.neg())))).mul(weight);
            sum = sum.add(value);
            if (b.l != null) value.intoArray(b.l, b.lo + i);
            if (b.g != null) {
                // sigmoid(x) and sigmoid(-x) as in sigmoid(): 1 / (1 + e) on the side of |x|, e / (1 + e) on the other
                FloatVector e = FloatVector.fromArray(FLOATS, b.e, i);
                FloatVector inverse = one.div(e.add(one));
                FloatVector small = e.mul(inverse);
                VectorMask<Float> negative = x.compare(VectorOperators.LT, 0f);
                negativeCoefficient.mul(inverse.blend(small, negative)).sub(positiveCoefficient.mul(small.blend(inverse, negative)))
                        .mul(weight).mul(scale).intoArray(b.g, b.go + i);
            }
        }
        sum.intoArray(b.lanes, 0);
        return Lanes.sum(b.lanes);
    }

    /**
     * max(v, 0) as the softplus forms add it to log1p(e) >= +0: v where v >= 0 or NaN, else 0. A -0 stays -0, which
     * changes no sum it is added to; a compare and a blend, where {@code v.max(0f)} (Math.max semantics) compiles to
     * about six dependent operations on AVX-512.
     */
    private static FloatVector positivePart(FloatVector v) {
        return v.blend(0f, v.compare(VectorOperators.LT, 0f));
    }

    private static FloatVector weighted(FloatVector c, FloatVector v) {
        return c.mul(v).blend(0f, c.compare(VectorOperators.EQ, 0f));
    }

    /**
     * Stages for the logistic losses, over [from, to) of {@code x}: e = exp(-|x|), then log1p(e), sigmoid(x) and sigmoid(-x).
     * Kept as separate short loops over the L1-resident block: one loop doing all of it and the loss exceeds C2's
     * per-compilation node budget, which then stops inlining the Vector API and boxes every vector.
     */
    static void logistic(Block b, float[] x, int xo, int from, int to) {
        softplusStages(b, x, xo, from, to);
        sigmoid(x, xo, b.e, from, to, b.sigmoid, b.sigmoidOfNegative);
    }

    /** The first stages of {@link #logistic}: e = exp(-|x|) and log1p(e). */
    static void softplusStages(Block b, float[] x, int xo, int from, int to) {
        negativeAbs(x, xo, from, to, 1f, b.e);
        FastExp.expBlock(b.e, from, to - from, 0f, b.e);
        FastLog1p.log1pBlock(b.e, to, b.log1pE);
    }

    /** {@code out[i] = -factor |x[xo + i]|} over [from, to). */
    static void negativeAbs(float[] x, int xo, int from, int to, float factor, float[] out) {
        for (int i = from; i < to; i += LANES) FloatVector.fromArray(FLOATS, x, xo + i).abs().mul(-factor).intoArray(out, i);
    }

    /**
     * sigmoid(x) = 1 / (1 + e) for x >= 0, e / (1 + e) below, given e = exp(-|x|): no overflow on either side; and
     * sigmoid(-x) = 1 - sigmoid(x) the other way round, each accurate to its own size (never formed as 1 - s).
     */
    static void sigmoid(float[] x, int xo, float[] e, int from, int to, float[] out, float[] outOfNegative) {
        FloatVector one = FloatVector.broadcast(FLOATS, 1f);
        for (int i = from; i < to; i += LANES) {
            FloatVector ev = FloatVector.fromArray(FLOATS, e, i);
            FloatVector inverse = one.div(ev.add(one));
            FloatVector small = ev.mul(inverse);
            VectorMask<Float> negative = FloatVector.fromArray(FLOATS, x, xo + i).compare(VectorOperators.LT, 0f);
            inverse.blend(small, negative).intoArray(out, i);
            small.blend(inverse, negative).intoArray(outOfNegative, i);
        }
    }

    private static double sigmoidFocal(Kernel k, Block b, int from, int to, float scale) {
        logistic(b, b.x, b.xo, from, to);
        float a = k.a();
        float gamma = k.b();
        focalModulator(b, from, to, gamma);
        FloatVector one = FloatVector.broadcast(FLOATS, 1f);
        for (int i = from; i < to; i += LANES) {
            // ce = BCE(x, t), 1 - p_t = p (1 - t) + (1 - p) t; loss alpha_t ce (1 - p_t)^g
            FloatVector x = FloatVector.fromArray(FLOATS, b.x, b.xo + i);
            FloatVector t = FloatVector.fromArray(FLOATS, b.t, b.to + i);
            FloatVector p = FloatVector.fromArray(FLOATS, b.sigmoid, i);
            FloatVector q = FloatVector.fromArray(FLOATS, b.sigmoidOfNegative, i); // 1 - p
            FloatVector log1pE = FloatVector.fromArray(FLOATS, b.log1pE, i);
            FloatVector oneMinusT = one.sub(t);
            // ce = (1 - t) softplus(x) + t softplus(-x), the BCE form of bceWithLogits (exact limits at +-inf)
            FloatVector ce = weighted(oneMinusT, log1pE.add(positivePart(x))).add(weighted(t, log1pE.add(positivePart(x.neg()))));
            FloatVector modulator = FloatVector.fromArray(FLOATS, b.exp, i);
            // d(1 - p_t)^g / dx = -g (1 - p_t)^(g-1) (2t - 1) p (1 - p)
            FloatVector modulatorSlope = FloatVector.fromArray(FLOATS, b.log, i).mul(-gamma)
                    .mul(t.mul(2f).sub(1f)).mul(p).mul(q);
            FloatVector alphaT = a >= 0 ? t.mul(a).add(oneMinusT.mul(1f - a)) : one;
            FloatVector value = alphaT.mul(ce).mul(modulator);
            // dce/dx = p - t = (1 - t) p - t (1 - p), without forming 1 - p from p
            FloatVector ceSlope = oneMinusT.mul(p).sub(t.mul(q));
            FloatVector slope = alphaT.mul(ceSlope.mul(modulator).add(ce.mul(modulatorSlope)));
            value.intoArray(b.value, i);
            slope.intoArray(b.slope, i);
        }
        return finish(b, from, to, scale);
    }

    /**
     * Stages the focal modulator (1 - p_t)^g in {@code b.exp} and (1 - p_t)^(g-1) in {@code b.log} (0 for g = 0,
     * where the slope term vanishes), given sigmoid(x) and sigmoid(-x). 1 - p_t = p (1 - t) + (1 - p) t: two terms
     * >= 0, no cancellation when p_t is close to 1. Powers as a^g = exp(g log a) (a = 0 gives exp(-inf) = 0 for
     * g > 0 and +inf for g < 0, as pow; exponent 0 gives 1, not exp(0 * -inf)). Error, estimated: log a carries at
     * most FastLog.MAX_ULP_ERROR (1) ulp of |log a|, so g log a is off by about |g log a| 2^-24 absolute (plus
     * the rounding of the product), which is the relative error it gives a^g, plus FastExp's 1.5 ulp: at most about
     * 1e-5 relative where a^g does not underflow (|g log a| <= 87), within Op.SIGMOID_FOCAL's 2e-5, and a few ulp
     * for the usual |g log a| < 5.
     */
    private static void focalModulator(Block b, int from, int to, float gamma) {
        int n = to - from;
        if (gamma == 0) {
            java.util.Arrays.fill(b.exp, 0, n, 1f);
            java.util.Arrays.fill(b.log, 0, n, 0f);
            return;
        }
        FloatVector one = FloatVector.broadcast(FLOATS, 1f);
        for (int i = from; i < to; i += LANES) {
            FloatVector t = FloatVector.fromArray(FLOATS, b.t, b.to + i);
            FloatVector p = FloatVector.fromArray(FLOATS, b.sigmoid, i);
            p.mul(one.sub(t)).add(FloatVector.fromArray(FLOATS, b.sigmoidOfNegative, i).mul(t)).intoArray(b.log, i);
        }
        FastLog.logBlock(b.log, 0, n, 0f, b.log); // log a
        FastExp.expAnyBlock(b.log, 0, n, gamma, b.exp); // a^g
        if (gamma == 1) java.util.Arrays.fill(b.log, 0, n, 1f); // a^0
        else FastExp.expAnyBlock(b.log, 0, n, gamma - 1, b.log); // a^(g-1)
    }

    private static double klDiv(Kernel k, Block b, int from, int to, float scale) {
        FastLog.logBlock(b.t, b.to + from, to - from, 0f, b.logTarget); // log t
        for (int i = from; i < to; i += LANES) {
            // t (log t - x), 0 where t = 0 (xlogy); slope -t
            FloatVector x = FloatVector.fromArray(FLOATS, b.x, b.xo + i);
            FloatVector t = FloatVector.fromArray(FLOATS, b.t, b.to + i);
            FloatVector value = t.mul(FloatVector.fromArray(FLOATS, b.logTarget, i).sub(x))
                    .blend(t.neg().mul(x), t.compare(VectorOperators.EQ, 0f));
            value.intoArray(b.value, i);
            t.neg().intoArray(b.slope, i);
        }
        return finish(b, from, to, scale);
    }

    private static double klDivLogTarget(Kernel k, Block b, int from, int to, float scale) {
        FastExp.expAnyBlock(b.t, b.to + from, to - from, 1f, b.exp); // exp(t)
        for (int i = from; i < to; i += LANES) {
            // exp(t) (t - x); slope -exp(t)
            FloatVector t = FloatVector.fromArray(FLOATS, b.t, b.to + i);
            FloatVector et = FloatVector.fromArray(FLOATS, b.exp, i);
            et.mul(t.sub(FloatVector.fromArray(FLOATS, b.x, b.xo + i))).intoArray(b.value, i);
            et.neg().intoArray(b.slope, i);
        }
        return finish(b, from, to, scale);
    }

    private static double gaussianNll(Kernel k, Block b, int from, int to, float scale) {
        float a = k.a();
        float constant = k.flag() ? HALF_LOG_TWO_PI : 0f;
        for (int i = from; i < to; i += LANES) FloatVector.fromArray(FLOATS, b.v, b.vo + i).max(a).intoArray(b.log, i);
        FastLog.logBlock(b.log, 0, to - from, 0f, b.log); // log max(var, eps)
        for (int i = from; i < to; i += LANES) {
            // v = max(var, eps); 0.5 (log v + d^2 / v) [+ 0.5 log 2 pi]; slope d / v
            FloatVector d = FloatVector.fromArray(FLOATS, b.x, b.xo + i).sub(FloatVector.fromArray(FLOATS, b.t, b.to + i));
            FloatVector v = FloatVector.fromArray(FLOATS, b.v, b.vo + i).max(a);
            FloatVector value = FloatVector.fromArray(FLOATS, b.log, i).add(d.mul(d).div(v)).mul(0.5f).add(constant);
            value.intoArray(b.value, i);
            d.div(v).intoArray(b.slope, i);
        }
        return finish(b, from, to, scale);
    }

    /**
     * share |w| + (1 - share) w^2 / 2; slope share sign(w) + (1 - share) w. Each part only where its share is not 0,
     * so an infinite w gives inf, not 0 * inf; one method per case, each loop compiled on its own.
     */
    private static double penalty(Kernel k, Block b, int from, int to, float scale) {
        float a = k.a();
        if (a == 1) l1Penalty(b, from, to);
        else if (a == 0) l2Penalty(b, from, to);
        else elasticNetPenalty(b, from, to, a);
        return finish(b, from, to, scale);
    }

    private static void l1Penalty(Block b, int from, int to) {
        for (int i = from; i < to; i += LANES) {
            FloatVector w = FloatVector.fromArray(FLOATS, b.x, b.xo + i);
            w.abs().intoArray(b.value, i);
            w.mul(0f).blend(1f, w.compare(VectorOperators.GT, 0f)).blend(-1f, w.compare(VectorOperators.LT, 0f)).intoArray(b.slope, i);
        }
    }

    private static void l2Penalty(Block b, int from, int to) {
        for (int i = from; i < to; i += LANES) {
            FloatVector w = FloatVector.fromArray(FLOATS, b.x, b.xo + i);
            w.mul(w).mul(0.5f).intoArray(b.value, i);
            w.intoArray(b.slope, i);
        }
    }

    private static void elasticNetPenalty(Block b, int from, int to, float a) {
        for (int i = from; i < to; i += LANES) {
            FloatVector w = FloatVector.fromArray(FLOATS, b.x, b.xo + i);
            FloatVector sign = w.mul(0f).blend(1f, w.compare(VectorOperators.GT, 0f)).blend(-1f, w.compare(VectorOperators.LT, 0f));
            w.abs().mul(a).add(w.mul(w).mul(0.5f * (1 - a))).intoArray(b.value, i);
            sign.mul(a).add(w.mul(1 - a)).intoArray(b.slope, i);
        }
    }

    /**
     * Applies the per-element weight to the staged values and slopes of [from, to), writes the gradient
     * (scale * w * slope) and the losses (w * value), and returns the sum of w * value. Short loops, one per step.
     */
    private static double finish(Block b, int from, int to, float scale) {
        if (b.w != null) {
            for (int i = from; i < to; i += LANES) {
                FloatVector w = FloatVector.fromArray(FLOATS, b.w, b.wo + i);
                FloatVector.fromArray(FLOATS, b.value, i).mul(w).intoArray(b.value, i);
                FloatVector.fromArray(FLOATS, b.slope, i).mul(w).intoArray(b.slope, i);
            }
        }
        if (b.g != null) {
            for (int i = from; i < to; i += LANES) FloatVector.fromArray(FLOATS, b.slope, i).mul(scale).intoArray(b.g, b.go + i);
        }
        if (b.l != null) System.arraycopy(b.value, from, b.l, b.lo + from, to - from);
        FloatVector acc = FloatVector.zero(FLOATS);
        for (int i = from; i < to; i += LANES) acc = acc.add(FloatVector.fromArray(FLOATS, b.value, i));
        acc.intoArray(b.lanes, 0);
        return Lanes.sum(b.lanes);
    }

    /** Writes {@code source[0, n)} to flat indices [flat, flat + n) of {@code m}. */
    private static void writeFlat(Matrix m, long flat, int n, float[] source) {
        if (m.isContiguous()) {
            long at = m.offset() + flat;
            if (m.floatArray() != null) {
                System.arraycopy(source, 0, m.floatArray(), (int) at, n);
            } else {
                MemorySegment.copy(source, 0, m.segment(), F32, at * 4, n);
            }
            return;
        }
        for (int i = 0; i < n; i++) m.setFloat(flat + i, source[i]);
    }
}
