package org.losskit.testing;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Reproducible test inputs: every generator draws from one seeded stream, so a failing case is rerun exactly by
 * its seed. {@link #seed(Object...)} turns a case description (op, shape, options) into a seed.
 */
public final class RandomInputs {
    private final SplittableRandom random;

    public RandomInputs(long seed) {
        this.random = new SplittableRandom(seed);
    }

    /** A stable seed from the parts of a case description. */
    public static long seed(Object... parts) {
        return 0x9E3779B97F4A7C15L * Arrays.deepHashCode(parts) + 20261122L;
    }

    public double nextDouble() {
        return random.nextDouble();
    }

    public int nextInt(int bound) {
        return random.nextInt(bound);
    }

    /** Normal values with standard deviation {@code scale}, rounded to float. */
    public float[] gaussian(int n, double scale) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (scale * gaussian());
        return x;
    }

    /** Uniform values in [lo, hi), rounded to float. */
    public float[] uniform(int n, double lo, double hi) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (lo + (hi - lo) * random.nextDouble());
        return x;
    }

    /** Values in [lo, hi) that are at least {@code gap} away from every point of {@code kinks}. */
    public float[] awayFrom(int n, double lo, double hi, double gap, double... kinks) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            double v;
            do v = lo + (hi - lo) * random.nextDouble(); while (near(v, gap, kinks));
            x[i] = (float) v;
        }
        return x;
    }

    /** True when {@code v} is within {@code gap} of one of {@code points}. */
    public static boolean near(double v, double gap, double... points) {
        for (double p : points) if (Math.abs(v - p) < gap) return true;
        return false;
    }

    /** Labels -1 or +1. */
    public float[] signs(int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = random.nextBoolean() ? 1f : -1f;
        return x;
    }

    /** Class indices in [0, classes). */
    public int[] targets(int rows, int classes) {
        int[] t = new int[rows];
        for (int r = 0; r < rows; r++) t[r] = random.nextInt(classes);
        return t;
    }

    /** Each row a probability distribution (softmax of random logits), as floats. */
    public float[] probabilities(int rows, int cols) {
        float[] q = new float[rows * cols];
        for (int r = 0; r < rows; r++) {
            double[] e = new double[cols];
            double sum = 0;
            for (int c = 0; c < cols; c++) sum += e[c] = Math.exp(2 * gaussian());
            for (int c = 0; c < cols; c++) q[r * cols + c] = (float) (e[c] / sum);
        }
        return q;
    }

    /** One-hot rows: 1 at the target column. */
    public static float[] oneHot(int[] targets, int classes) {
        float[] q = new float[targets.length * classes];
        for (int r = 0; r < targets.length; r++) q[r * classes + targets[r]] = 1f;
        return q;
    }

    private double gaussian() {
        // Box-Muller; SplittableRandom has no nextGaussian before JDK 17's RandomGenerator default, kept explicit.
        double u = 1 - random.nextDouble();
        double v = random.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    }
}
