package org.losskit.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.junit.jupiter.api.Test;
import org.losskit.CrossEntropyOptions;
import org.losskit.LossEngine;
import org.losskit.LossOutputs;
import org.losskit.Matrix;
import org.losskit.PointwiseLoss;
import org.losskit.ReduceOp;
import org.losskit.Reduction;

/** Results are the same bits whatever the thread count, and whatever other threads do with the same engine. */
class ThreadingTest {
    /** Above the parallel threshold, so the multi-threaded path runs. */
    private static final int ROWS = 70;
    private static final int CLASSES = 4099;

    record Result(double loss, float[] gradient, double sum, double bce, float[] bceGradient) {}

    private static Result compute(LossEngine engine, float[] logits, int[] targets, float[] x, float[] y) {
        float[] grad = new float[logits.length];
        CrossEntropyOptions o = CrossEntropyOptions.defaults().labelSmoothing(0.1).zLoss(1e-4);
        double loss = engine.crossEntropy(Matrix.of(logits, ROWS, CLASSES), Matrix.vector(targets), o,
                LossOutputs.withGradient(Matrix.of(grad, ROWS, CLASSES)));
        double sum = engine.reduce(ReduceOp.SUM, Matrix.vector(x));
        float[] bceGrad = new float[x.length];
        double bce = engine.pointwise(new PointwiseLoss.BceWithLogits(Reduction.MEAN), Matrix.vector(x), Matrix.vector(y), null,
                LossOutputs.withGradient(Matrix.vector(bceGrad)));
        return new Result(loss, grad, sum, bce, bceGrad);
    }

    private static void assertSameBits(Result expected, Result actual, String what) {
        assertEquals(Double.doubleToRawLongBits(expected.loss()), Double.doubleToRawLongBits(actual.loss()), what + " loss");
        assertArrayEquals(expected.gradient(), actual.gradient(), what + " gradient");
        assertEquals(Double.doubleToRawLongBits(expected.sum()), Double.doubleToRawLongBits(actual.sum()), what + " sum");
        assertEquals(Double.doubleToRawLongBits(expected.bce()), Double.doubleToRawLongBits(actual.bce()), what + " bce");
        assertArrayEquals(expected.bceGradient(), actual.bceGradient(), what + " bce gradient");
    }

    @Test
    void sixteenThreadsSharingOneEngineMatchOneThread() throws Exception {
        SplittableRandom random = new SplittableRandom(11);
        float[] logits = Inputs.gaussian(random, ROWS * CLASSES, 3);
        int[] targets = new int[ROWS];
        for (int r = 0; r < ROWS; r++) targets[r] = random.nextInt(CLASSES);
        float[] x = Inputs.gaussian(random, 600_000, 2);
        float[] y = Inputs.uniform(random, 600_000, 0, 1);
        Result expected;
        try (LossEngine single = LossEngine.builder().backend("cpu").fallbackToReference(false).parallelism(1).build()) {
            expected = compute(single, logits, targets, x, y);
        }
        for (int parallelism : new int[] {2, 3, 16}) {
            try (LossEngine shared = LossEngine.builder().backend("cpu").fallbackToReference(false).parallelism(parallelism).build()) {
                assertSameBits(expected, compute(shared, logits, targets, x, y), "parallelism " + parallelism);
            }
        }
        try (LossEngine shared = LossEngine.builder().backend("cpu").fallbackToReference(false).parallelism(2).build();
             ExecutorService callers = Executors.newFixedThreadPool(16)) {
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < 16; t++) {
                int caller = t;
                futures.add(callers.submit(() -> {
                    for (int call = 0; call < 6; call++) assertSameBits(expected, compute(shared, logits, targets, x, y), "caller " + caller);
                    return null;
                }));
            }
            for (Future<?> f : futures) f.get();
        }
    }
}
