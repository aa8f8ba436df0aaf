package org.losskit.cpu;

import static org.losskit.cpu.VectorShapes.DOUBLES;
import static org.losskit.cpu.VectorShapes.FLOATS;
import static org.losskit.cpu.VectorShapes.LANES;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import org.losskit.Matrix;
import org.losskit.ReduceOp;

/**
 * Whole-array and per-row reductions. Sums (sum, mean, L1, L2, dot) widen each float vector into two double vectors
 * and accumulate in double lanes: a float, its absolute value, its square and the product of two floats are all
 * exact in double, so only the additions round, each by 2^-53 relative, and the float32 rounding of the result is
 * the float nearest the exact sum for any well-conditioned input up to billions of elements. Squares in double
 * cannot overflow or underflow, so L2 needs no scaling. Sums are split into fixed chunks across threads
 * ({@link Chunks}); min, max, argmax and logsumexp run on the calling thread.
 */
final class Reductions {
    private enum Summand { VALUE, ABSOLUTE, SQUARE }

    private Reductions() {}

    static double whole(ReduceOp op, Matrix x, Chunks chunks) {
        long n = x.size();
        return switch (op) {
            case SUM -> sum(x, Summand.VALUE, chunks);
            case MEAN -> sum(x, Summand.VALUE, chunks) / n;
            case L1_NORM -> sum(x, Summand.ABSOLUTE, chunks);
            case L2_NORM -> Math.sqrt(sum(x, Summand.SQUARE, chunks));
            case MIN, MAX, LOGSUMEXP -> {
                CallFrame call = chunks.frame();
                call.input = x;
                call.options = op;
                yield chunks.run(1, 0, Reductions::extremumOrLogSumExp, call); // one piece of work, on the calling thread
            }
        };
    }

    /** min, max or logsumexp of the whole of {@code call.input}, row by row. */
    private static double extremumOrLogSumExp(CallFrame call, int chunk, Scratch s) {
        Matrix x = call.input;
        ReduceOp op = (ReduceOp) call.options;
        double result = op == ReduceOp.MIN ? Double.POSITIVE_INFINITY : Double.NEGATIVE_INFINITY;
        if (op == ReduceOp.LOGSUMEXP) {
            // online over rows: lse = m + log sum exp(x - m), merged row by row
            float m = Float.NEGATIVE_INFINITY;
            double sumExp = 0;
            for (int r = 0; r < x.rows(); r++) {
                SoftmaxRows.statistics(x, r, 0f, -1, s);
                float newMax = Math.max(m, s.rowMax);
                if (Float.isNaN(newMax)) {
                    m = Float.NaN;
                    break;
                }
                if (newMax == Float.NEGATIVE_INFINITY) continue;
                sumExp = sumExp * Math.exp((double) m - newMax) + s.rowSumExp * Math.exp((double) s.rowMax - newMax);
                m = newMax;
            }
            return Float.isNaN(m) || Float.isInfinite(m) ? m : m + Math.log(sumExp);
        }
        for (int r = 0; r < x.rows() && !Double.isNaN(result); r++) {
            double v = row(op, x, r, s);
            result = op == ReduceOp.MIN ? Math.min(result, v) : Math.max(result, v); // NaN propagates
        }
        return result;
    }

    /** One reduction over row r. */
    static double row(ReduceOp op, Matrix x, int r, Scratch s) {
        int cols = x.cols();
        return switch (op) {
            case SUM -> rowSum(x, r, Summand.VALUE, s);
            case MEAN -> rowSum(x, r, Summand.VALUE, s) / cols;
            case L1_NORM -> rowSum(x, r, Summand.ABSOLUTE, s);
            case L2_NORM -> Math.sqrt(rowSum(x, r, Summand.SQUARE, s));
            case MAX -> cols == 0 ? Double.NEGATIVE_INFINITY : SoftmaxRows.rawMax(x, r, s);
            case MIN -> cols == 0 ? Double.POSITIVE_INFINITY : rowMin(x, r, s);
            case LOGSUMEXP -> {
                // lse = m + log sum exp(x - m); all -inf (or empty) gives -inf, +inf gives +inf, NaN gives NaN
                SoftmaxRows.statistics(x, r, 0f, -1, s);
                float m = s.rowMax;
                yield Float.isNaN(m) || Float.isInfinite(m) ? m : m + Math.log(s.rowSumExp);
            }
        };
    }

    private static double sum(Matrix x, Summand summand, Chunks chunks) {
        long n = x.size();
        CallFrame call = chunks.frame();
        call.input = x;
        call.options = summand;
        return chunks.run(Chunks.count(n, Chunks.TARGET_ELEMENTS), n, Reductions::sumChunk, call);
    }

    /** The sum of the summands of one chunk of the elements of {@code call.input}. */
    private static double sumChunk(CallFrame call, int chunk, Scratch s) {
        return overBlocks(call, chunk, s, Reductions::sumOfBlock);
    }

    /** The summands of elements (r, c .. c + len) of {@code call.input}, added. */
    private static double sumOfBlock(CallFrame call, int r, int c, int len, Scratch s) {
        Matrix x = call.input;
        int off = Blocks.read(x, r, c, len, s.input);
        return sumBlock(Blocks.array(x, s.input), off, len, (Summand) call.options, s.doubleLanes);
    }

    /** What one block of a chunk adds: elements (r, c .. c + len) of the call's inputs, len <= {@link Blocks#SIZE}. */
    @FunctionalInterface
    private interface BlockSum {
        double block(CallFrame call, int r, int c, int len, Scratch s);
    }

    /**
     * Walks chunk {@code chunk} of the flat elements of {@code call.input} (chunks of {@link Chunks#TARGET_ELEMENTS})
     * in blocks that stay within one row and, unless every input is a float32 array (read in place, so a block can
     * be as long as the row's part of the chunk), hold at most {@link Blocks#SIZE} elements (the scratch a block is
     * widened into), and adds what {@code blockSum} returns for each, in order.
     */
    private static double overBlocks(CallFrame call, int chunk, Scratch s, BlockSum blockSum) {
        long n = call.input.size();
        long per = Chunks.TARGET_ELEMENTS;
        int cols = call.input.cols();
        boolean inPlace = Blocks.direct(call.input) && (call.target == null || Blocks.direct(call.target));
        long longest = inPlace ? per : Blocks.SIZE;
        long from = chunk * per;
        long to = Math.min(n, from + per);
        double total = 0;
        for (long i = from; i < to; ) {
            int r = (int) (i / cols);
            int c = (int) (i % cols);
            int len = (int) Math.min(Math.min(cols - c, to - i), longest);
            total += blockSum.block(call, r, c, len, s);
            i += len;
        }
        return total;
    }

    private static double rowSum(Matrix x, int r, Summand summand, Scratch s) {
        int cols = x.cols();
        double total = 0;
        for (int c0 = 0; c0 < cols; c0 += Blocks.SIZE) {
            int n = Math.min(Blocks.SIZE, cols - c0);
            int off = Blocks.read(x, r, c0, n, s.input);
            total += sumBlock(Blocks.array(x, s.input), off, n, summand, s.doubleLanes);
        }
        return total;
    }

    /** sum of a[off, off + n) (or of |a|, or a^2) in double lanes, two accumulators; one loop per summand. */
    private static double sumBlock(float[] a, int off, int n, Summand summand, double[] lanes) {
        return switch (summand) {
            case VALUE -> sumValues(a, off, n, lanes);
            case ABSOLUTE -> sumAbsolute(a, off, n, lanes);
            case SQUARE -> sumSquares(a, off, n, lanes);
        };
    }

    /**
     * Two vectors an iteration into four double accumulators: an add has a latency of several cycles, and with one
     * accumulator per half vector the loop waited on them instead of on memory (A/B in one JVM, 16M floats:
     * docs/BENCHMARKS.md).
     */
    private static double sumValues(float[] a, int off, int n, double[] lanes) {
        DoubleVector acc0 = DoubleVector.zero(DOUBLES);
        DoubleVector acc1 = acc0;
        DoubleVector acc2 = acc0;
        DoubleVector acc3 = acc0;
        int i = 0;
        for (int bound = n - 2 * LANES + 1; i < bound; i += 2 * LANES) {
            FloatVector v = FloatVector.fromArray(FLOATS, a, off + i);
            FloatVector w = FloatVector.fromArray(FLOATS, a, off + i + LANES);
            acc0 = acc0.add((DoubleVector) v.convertShape(VectorOperators.F2D, DOUBLES, 0));
            acc1 = acc1.add((DoubleVector) v.convertShape(VectorOperators.F2D, DOUBLES, 1));
            acc2 = acc2.add((DoubleVector) w.convertShape(VectorOperators.F2D, DOUBLES, 0));
            acc3 = acc3.add((DoubleVector) w.convertShape(VectorOperators.F2D, DOUBLES, 1));
        }
        for (int bound = FLOATS.loopBound(n); i < bound; i += LANES) {
            FloatVector v = FloatVector.fromArray(FLOATS, a, off + i);
            acc0 = acc0.add((DoubleVector) v.convertShape(VectorOperators.F2D, DOUBLES, 0));
            acc1 = acc1.add((DoubleVector) v.convertShape(VectorOperators.F2D, DOUBLES, 1));
        }
        acc0.add(acc1).add(acc2.add(acc3)).intoArray(lanes, 0);
        double total = Lanes.sum(lanes, DOUBLES.length());
        for (; i < n; i++) total += a[off + i];
        return total;
    }

    private static double sumAbsolute(float[] a, int off, int n, double[] lanes) {
        DoubleVector acc0 = DoubleVector.zero(DOUBLES);
        DoubleVector acc1 = acc0;
        int i = 0;
        for (int bound = FLOATS.loopBound(n); i < bound; i += LANES) {
            FloatVector v = FloatVector.fromArray(FLOATS, a, off + i).abs();
            acc0 = acc0.add((DoubleVector) v.convertShape(VectorOperators.F2D, DOUBLES, 0));
            acc1 = acc1.add((DoubleVector) v.convertShape(VectorOperators.F2D, DOUBLES, 1));
        }
        acc0.add(acc1).intoArray(lanes, 0);
        double total = Lanes.sum(lanes, DOUBLES.length());
        for (; i < n; i++) total += Math.abs(a[off + i]);
        return total;
    }

    /** sum a^2: the square of a float is exact in double, and cannot overflow or underflow there. */
    private static double sumSquares(float[] a, int off, int n, double[] lanes) {
        DoubleVector acc0 = DoubleVector.zero(DOUBLES);
        DoubleVector acc1 = acc0;
        int i = 0;
        for (int bound = FLOATS.loopBound(n); i < bound; i += LANES) {
            FloatVector v = FloatVector.fromArray(FLOATS, a, off + i);
            DoubleVector low = (DoubleVector) v.convertShape(VectorOperators.F2D, DOUBLES, 0);
            DoubleVector high = (DoubleVector) v.convertShape(VectorOperators.F2D, DOUBLES, 1);
            acc0 = low.fma(low, acc0);
            acc1 = high.fma(high, acc1);
        }
        acc0.add(acc1).intoArray(lanes, 0);
        double total = Lanes.sum(lanes, DOUBLES.length());
        for (; i < n; i++) total += (double) a[off + i] * a[off + i];
        return total;
    }

    private static float rowMin(Matrix x, int r, Scratch s) {
        int cols = x.cols();
        float m = Float.POSITIVE_INFINITY;
        for (int c0 = 0; c0 < cols; c0 += Blocks.SIZE) {
            int n = Math.min(Blocks.SIZE, cols - c0);
            int off = Blocks.read(x, r, c0, n, s.input);
            float[] a = Blocks.array(x, s.input);
            int i = 0;
            if (n >= 2 * LANES) {
                FloatVector acc = FloatVector.broadcast(FLOATS, Float.POSITIVE_INFINITY);
                for (int bound = FLOATS.loopBound(n); i < bound; i += LANES) acc = acc.min(FloatVector.fromArray(FLOATS, a, off + i));
                acc.intoArray(s.lanes, 0);
                m = Math.min(m, Lanes.min(s.lanes));
            }
            for (; i < n; i++) m = Math.min(m, a[off + i]);
        }
        return m;
    }

    /** Flat index of the first largest element (the first NaN if any); -1 when empty. */
    static long argmax(Matrix x, Scratch s) {
        if (x.size() == 0) return -1;
        int bestRow = -1;
        float best = Float.NEGATIVE_INFINITY;
        for (int r = 0; r < x.rows(); r++) {
            float rowMax = SoftmaxRows.rawMax(x, r, s);
            if (Float.isNaN(rowMax)) {
                bestRow = r;
                best = rowMax;
                break;
            }
            if (bestRow < 0 || rowMax > best) {
                bestRow = r;
                best = rowMax;
            }
        }
        return (long) bestRow * x.cols() + SoftmaxRows.argmax(x, bestRow, best, s);
    }

    /** sum a_i b_i: each product of two floats is exact in double; accumulated in double lanes. */
    static double dot(Matrix a, Matrix b, Chunks chunks) {
        long n = a.size();
        CallFrame call = chunks.frame();
        call.input = a;
        call.target = b;
        return chunks.run(Chunks.count(n, Chunks.TARGET_ELEMENTS), n, Reductions::dotChunk, call);
    }

    /** sum a_i b_i over one chunk of the elements of a = {@code call.input}, b = {@code call.target}. */
    private static double dotChunk(CallFrame call, int chunk, Scratch s) {
        return overBlocks(call, chunk, s, Reductions::dotOfBlock);
    }

    /** sum a_i b_i over elements (r, c .. c + len). */
    private static double dotOfBlock(CallFrame call, int r, int c, int len, Scratch s) {
        Matrix a = call.input;
        Matrix b = call.target;
        int ao = Blocks.read(a, r, c, len, s.input);
        int bo = Blocks.read(b, r, c, len, s.target);
        return dotBlock(Blocks.array(a, s.input), ao, Blocks.array(b, s.target), bo, len, s.doubleLanes);
    }

    private static double dotBlock(float[] a, int ao, float[] b, int bo, int n, double[] lanes) {
        DoubleVector acc0 = DoubleVector.zero(DOUBLES);
        DoubleVector acc1 = acc0;
        int i = 0;
        for (int bound = FLOATS.loopBound(n); i < bound; i += LANES) {
            FloatVector va = FloatVector.fromArray(FLOATS, a, ao + i);
            FloatVector vb = FloatVector.fromArray(FLOATS, b, bo + i);
            acc0 = ((DoubleVector) va.convertShape(VectorOperators.F2D, DOUBLES, 0))
                    .fma((DoubleVector) vb.convertShape(VectorOperators.F2D, DOUBLES, 0), acc0);
            acc1 = ((DoubleVector) va.convertShape(VectorOperators.F2D, DOUBLES, 1))
                    .fma((DoubleVector) vb.convertShape(VectorOperators.F2D, DOUBLES, 1), acc1);
        }
        acc0.add(acc1).intoArray(lanes, 0);
        double total = Lanes.sum(lanes, DOUBLES.length());
        for (; i < n; i++) total += (double) a[ao + i] * b[bo + i];
        return total;
    }
}
