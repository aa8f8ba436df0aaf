package org.losskit.bench;

import java.util.SplittableRandom;

import org.losskit.CrossEntropyOptions;
import org.losskit.LossEngine;
import org.losskit.LossOutputs;
import org.losskit.Matrix;
import org.losskit.PointwiseLoss;
import org.losskit.ReduceOp;
import org.losskit.Reduction;

/**
 * The sweep's calls on a losskit engine, with inputs and outputs allocated once: the same data for every backend
 * (same seed), as {@link SweepData} makes it.
 */
final class BackendCalls {
    private BackendCalls() {}

    static PreparedCall prepare(LossEngine engine, Workload workload, int rows, int cols, long seed) {
        SweepData data = SweepData.make(workload, rows, cols, seed);
        return switch (workload) {
            case CROSS_ENTROPY -> {
                Matrix logits = Matrix.of(data.input(), rows, cols);
                Matrix targets = Matrix.vector(data.classTargets());
                CrossEntropyOptions options = CrossEntropyOptions.defaults();
                LossOutputs outputs = LossOutputs.withGradient(Matrix.of(new float[rows * cols], rows, cols));
                yield () -> engine.crossEntropy(logits, targets, options, outputs);
            }
            case BCE_WITH_LOGITS -> {
                Matrix logits = Matrix.of(data.input(), rows, cols);
                Matrix targets = Matrix.of(data.binaryTargets(), rows, cols);
                PointwiseLoss.BceWithLogits bce = new PointwiseLoss.BceWithLogits(Reduction.MEAN);
                LossOutputs outputs = LossOutputs.withGradient(Matrix.of(new float[rows * cols], rows, cols));
                yield () -> engine.bceWithLogits(logits, targets, null, bce, outputs);
            }
            case SUM -> {
                Matrix x = Matrix.of(data.input(), rows, cols);
                yield () -> engine.reduce(ReduceOp.SUM, x);
            }
        };
    }

    /** The sweep's random inputs; peers use the same so that every series times the same values. */
    record SweepData(float[] input, int[] classTargets, float[] binaryTargets) {
        static SweepData make(Workload workload, int rows, int cols, long seed) {
            SplittableRandom random = new SplittableRandom(seed ^ ((long) rows << 32) ^ cols);
            int n = Math.multiplyExact(rows, cols);
            float[] input = OpCases.normal(random, n, 0, workload == Workload.CROSS_ENTROPY ? 3 : 2);
            int[] classTargets = workload == Workload.CROSS_ENTROPY ? OpCases.classIndices(random, rows, cols) : null;
            float[] binaryTargets = null;
            if (workload == Workload.BCE_WITH_LOGITS) {
                binaryTargets = new float[n];
                for (int i = 0; i < n; i++) binaryTargets[i] = random.nextBoolean() ? 1f : 0f;
            }
            return new SweepData(input, classTargets, binaryTargets);
        }
    }
}
