package org.losskit.cpu;

import org.losskit.Matrix;

/**
 * Softmax cross-entropy of a row of at most {@link #MAX_CLASSES} classes in one plain scalar float loop per pass:
 * for rows this short the block machinery of {@link SoftmaxRows} (vector set-up, staging calls, lane sums) and the
 * per-row {@code Math.exp} cost more than the arithmetic. The maths is that of the generic row
 * ({@code VectorBackend#crossEntropyRow}); one {@code Math.log} per row, every exp through
 * {@link FastExp#expNonPositive}, the target's {@code p_y = e_y / S} from the same staged exps.
 *
 * <p>Only rows with a finite max take this path; a row with NaN, +inf or only -inf goes through the generic row,
 * which spells out those limits. Calls that ask for diagnostics go through the generic row too: they read the
 * logits again, which must happen before an in-place gradient overwrites them, and reuse the staging arrays.
 */
final class ShortRows {
    /** Rows of at most this many classes use this loop (a few vectors at most; measured faster up to here). */
    static final int MAX_CLASSES = 64;

    private ShortRows() {}

    /**
     * The row's loss and gradient (when {@code grad} is not null) for target column {@code y}; sets
     * {@code s.shortRowDone}, false (nothing written, the caller runs the generic row) when the row's max logit is
     * not finite.
     */
    static double crossEntropyRow(Matrix logits, int r, int y, float cap, float[] weights, double weightSum,
                                  double smoothing, double zLoss, double scale, Matrix grad, Scratch s) {
        int classes = logits.cols();
        float[] z = SoftmaxRows.logitsBlock(logits, r, 0, classes, cap, s, s.offset);
        int zo = s.offset[0];
        float m = Float.NEGATIVE_INFINITY;
        for (int c = 0; c < classes; c++) m = Math.max(m, z[zo + c]);
        s.shortRowDone = Math.abs(m) < Float.POSITIVE_INFINITY;
        if (!s.shortRowDone) return 0;
        // e_c = exp(z_c - m); S = sum_c e_c, and sum_{c != y} e_c (for g_y = -(1-e) w_y sum_{c != y} p_c + ...)
        float[] e = s.stageE;
        float sumAll = 0;
        float sumOthers = 0;
        for (int c = 0; c < classes; c++) {
            float ec = FastExp.expNonPositive(z[zo + c] - m);
            e[c] = ec;
            sumAll += ec;
            sumOthers += c == y ? 0f : ec;
        }
        double sumExp = sumAll;
        double logS = Math.log(sumExp);
        double lse = m + logS;
        float zy = z[zo + y];
        double wy = weights == null ? 1 : weights[y];
        double loss = (1 - smoothing) * wy * ((m - (double) zy) + logS);
        if (smoothing > 0) {
            // sum_c w_c (lse - z_c) = W log S + sum_c w_c (m - z_c), every term >= 0
            float gap = 0;
            for (int c = 0; c < classes; c++) gap += (weights == null ? 1f : weights[c]) * (m - z[zo + c]);
            loss += smoothing / classes * (weightSum * logS + gap);
        }
        if (zLoss > 0) loss += zLoss * lse * lse;
        if (grad != null) {
            // g_c = slope_c (e_c coefP - coefW w_c) for c != y, as SoftmaxRows.gradient
            double a = (1 - smoothing) * wy + smoothing / classes * weightSum + 2 * zLoss * lse;
            float coefP = (float) (scale * a / sumExp);
            float coefW = (float) (scale * smoothing / classes);
            float[] g = Blocks.array(grad, s.gradient);
            int go = Blocks.writeTarget(grad, r, 0);
            if (cap > 0) {
                float inverseCap = 1f / cap;
                for (int c = 0; c < classes; c++) {
                    float t = z[zo + c] * inverseCap;
                    g[go + c] = Math.fma(e[c], coefP, -coefW * (weights == null ? 1f : weights[c])) * (1 - t * t);
                }
            } else if (weights == null) {
                for (int c = 0; c < classes; c++) g[go + c] = Math.fma(e[c], coefP, -coefW);
            } else {
                for (int c = 0; c < classes; c++) g[go + c] = Math.fma(e[c], coefP, -coefW * weights[c]);
            }
            double py = e[y] / sumExp;
            double others = sumOthers / sumExp;
            // g_y with p_y - 1 = -sum_{c != y} p_c
            double gy = -(1 - smoothing) * wy * others + smoothing / classes * (weightSum * py - wy) + 2 * zLoss * lse * py;
            g[go + y] = (float) (scale * gy * SoftmaxRows.capSlope(zy, cap));
            Blocks.write(grad, r, 0, classes, s.gradient);
        }
        return loss;
    }
}
