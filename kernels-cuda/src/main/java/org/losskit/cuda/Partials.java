package org.losskit.cuda;

import org.losskit.ReduceOp;

/**
 * The deterministic second stage of every reduction: kernels write one partial (two doubles) per block, the host
 * combines them here in block order. Same input, same plan, same bits; no atomics anywhere. Partials by op:
 * sums (sum, mean, l1, l2 of squares, dot, loss totals): (sum, 0); min and max: (value, 0); logsumexp:
 * (m, sum exp(x - m)); argmax: (value, flat index or -1 for a block that saw nothing).
 */
final class Partials {
    private Partials() {}

    /** Neumaier-compensated sum of partials[2i] over i < count, in index order. */
    static double sum(double[] partials, int count) {
        double sum = 0;
        double compensation = 0;
        for (int i = 0; i < count; i++) {
            double v = partials[2 * i];
            double t = sum + v;
            // The low-order bits lost by t, from whichever operand is smaller.
            compensation += Math.abs(sum) >= Math.abs(v) ? (sum - t) + v : (v - t) + sum;
            sum = t;
        }
        return sum + compensation;
    }

    /** The whole-array result of {@code op} over {@code elements} elements from {@code count} block partials. */
    static double reduce(ReduceOp op, double[] partials, int count, long elements) {
        return switch (op) {
            case SUM, L1_NORM -> sum(partials, count);
            case MEAN -> sum(partials, count) / elements;
            case L2_NORM -> Math.sqrt(sum(partials, count));
            case MIN, MAX -> extreme(op == ReduceOp.MIN, partials, count);
            case LOGSUMEXP -> logSumExp(partials, count);
        };
    }

    /** min or max, NaN if any partial is NaN; +inf (min) or -inf (max) for none. */
    static double extreme(boolean min, double[] partials, int count) {
        double best = min ? Double.POSITIVE_INFINITY : Double.NEGATIVE_INFINITY;
        for (int i = 0; i < count; i++) {
            double v = partials[2 * i];
            if (Double.isNaN(v)) return v;
            best = min ? Math.min(best, v) : Math.max(best, v);
        }
        return best;
    }

    /** lse = m + log sum_i s_i exp(m_i - m), m = max m_i; a non-finite m (NaN, +inf, or -inf: all masked) as is. */
    static double logSumExp(double[] partials, int count) {
        double m = extreme(false, partials, count);
        if (Double.isNaN(m) || Double.isInfinite(m)) return m;
        double s = 0;
        for (int i = 0; i < count; i++) {
            double mi = partials[2 * i];
            if (mi != Double.NEGATIVE_INFINITY) s += partials[2 * i + 1] * Math.exp(mi - m);
        }
        return m + Math.log(s);
    }

    /** Flat index of the first largest element, NaN counting as largest (first NaN wins); -1 when none. */
    static long argmax(double[] partials, int count) {
        long best = -1;
        double bestValue = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < count; i++) {
            double v = partials[2 * i];
            long index = (long) partials[2 * i + 1];
            if (index < 0) continue;
            boolean better;
            if (best < 0) {
                better = true;
            } else if (Double.isNaN(v) || Double.isNaN(bestValue)) {
                better = Double.isNaN(v) && (!Double.isNaN(bestValue) || index < best);
            } else {
                better = v > bestValue || (v == bestValue && index < best);
            }
            if (better) {
                best = index;
                bestValue = v;
            }
        }
        return best;
    }
}
