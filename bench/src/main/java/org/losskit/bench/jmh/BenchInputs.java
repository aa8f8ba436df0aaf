package org.losskit.bench.jmh;

import java.util.SplittableRandom;

/** The inputs the JMH benchmarks share, so that every benchmark and peer of a shape sees the same values. */
final class BenchInputs {
    private BenchInputs() {}

    /** Logits as every cross-entropy benchmark draws them: 3 (2u - 1) + u', in [-3, 4). */
    static float[] logits(SplittableRandom random, int n) {
        float[] values = new float[n];
        for (int i = 0; i < n; i++) values[i] = (float) (3 * (random.nextDouble() * 2 - 1) + random.nextDouble());
        return values;
    }

    /** A target class per row, uniform over the vocabulary. */
    static int[] targets(SplittableRandom random, int rows, int vocab) {
        int[] targets = new int[rows];
        for (int r = 0; r < rows; r++) targets[r] = random.nextInt(vocab);
        return targets;
    }

    /** {rows, cols} of a "ROWSxCOLS" shape parameter. */
    static int[] shape(String shape) {
        String[] parts = shape.split("x");
        return new int[] {Integer.parseInt(parts[0]), Integer.parseInt(parts[1])};
    }
}
