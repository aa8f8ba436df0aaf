package org.losskit.bench.jmh;

/**
 * The plain scalar Java a programmer writes first: the baseline the "15x the naive loop" is measured
 * against. Nothing clever on purpose: {@code Math.exp} and {@code Math.log1p} per element, one pass per idea.
 */
public final class NaiveLoops {
    private NaiveLoops() {}

    /**
     * Mean softmax cross-entropy of {@code rows x vocab} logits with class-index targets, and its gradient.
     * Per row: max pass; sum pass s = sum exp(z - max); loss = log s + max - z_t; gradient pass
     * g_c = (exp(z_c - max) / s - [c == t]) / rows. {@code gradient} may be {@code logits} (in place): each element
     * is read before it is written, and the target logit is read before the gradient pass.
     */
    public static double crossEntropy(float[] logits, int[] targets, int rows, int vocab, float[] gradient) {
        double total = 0;
        for (int r = 0; r < rows; r++) {
            int base = r * vocab;
            float max = rowMax(logits, base, vocab);
            double sum = rowSumExp(logits, base, vocab, max);
            int target = targets[r];
            total += Math.log(sum) + max - logits[base + target];
            double scale = 1.0 / (sum * rows);
            for (int c = 0; c < vocab; c++) {
                gradient[base + c] = (float) (Math.exp(logits[base + c] - max) * scale);
            }
            gradient[base + target] -= (float) (1.0 / rows);
        }
        return total / rows;
    }

    /** The loss of {@link #crossEntropy} alone: max pass, sum pass, no gradient. */
    public static double crossEntropyForward(float[] logits, int[] targets, int rows, int vocab) {
        double total = 0;
        for (int r = 0; r < rows; r++) {
            int base = r * vocab;
            float max = rowMax(logits, base, vocab);
            total += Math.log(rowSumExp(logits, base, vocab, max)) + max - logits[base + targets[r]];
        }
        return total / rows;
    }

    private static float rowMax(float[] logits, int base, int vocab) {
        float max = Float.NEGATIVE_INFINITY;
        for (int c = 0; c < vocab; c++) max = Math.max(max, logits[base + c]);
        return max;
    }

    private static double rowSumExp(float[] logits, int base, int vocab, float max) {
        double sum = 0;
        for (int c = 0; c < vocab; c++) sum += Math.exp(logits[base + c] - max);
        return sum;
    }

    /**
     * Mean BCE with logits and its gradient: l = max(x, 0) - x t + log1p(exp(-|x|)), dl/dx = (sigmoid(x) - t) / n.
     */
    public static double bceWithLogits(float[] logits, float[] targets, float[] gradient) {
        int n = logits.length;
        double total = 0;
        for (int i = 0; i < n; i++) {
            double x = logits[i];
            double t = targets[i];
            total += Math.max(x, 0) - x * t + Math.log1p(Math.exp(-Math.abs(x)));
            gradient[i] = (float) ((1 / (1 + Math.exp(-x)) - t) / n);
        }
        return total / n;
    }
}
