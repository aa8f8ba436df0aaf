package org.losskit.testing;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import org.losskit.CrossEntropyOptions;
import org.losskit.LossEngine;
import org.losskit.LossOutputs;
import org.losskit.Matrix;
import org.losskit.PointwiseLoss;
import org.losskit.ReduceOp;
import org.losskit.Reduction;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Many threads sharing one engine must get the same bits as one thread (DESIGN.md: results are deterministic
 * whatever the thread count). Each thread owns its output buffers; inputs are shared and read-only.
 */
public final class ConcurrencyCheck {
    private ConcurrencyCheck() {}

    /** One workload: a call that fills the given result array (returned value bits first, then outputs). */
    private record Workload(String name, int resultLength, Runner runner) {}

    @FunctionalInterface
    private interface Runner {
        void run(LossEngine engine, float[] result);
    }

    /**
     * Runs a mix of calls (cross-entropy with every option, its in-place form, BCE-with-logits, a sum reduction)
     * once on the calling thread, then {@code callsPerThread} times on each of {@code threads} threads started
     * together, and fails naming the workload, thread and call when any result differs in any bit.
     */
    public static void assertSameAcrossThreads(LossEngine engine, int threads, int callsPerThread) throws InterruptedException {
        List<Workload> workloads = workloads();
        List<float[]> expected = new ArrayList<>();
        for (Workload w : workloads) {
            float[] result = new float[w.resultLength()];
            w.runner().run(engine, result);
            expected.add(result);
        }
        ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            for (int t = 0; t < threads; t++) {
                int thread = t;
                pool.execute(() -> {
                    try {
                        start.await();
                        for (int call = 0; call < callsPerThread; call++) {
                            int index = (thread + call) % workloads.size();
                            Workload w = workloads.get(index);
                            float[] result = new float[w.resultLength()];
                            w.runner().run(engine, result);
                            if (!Arrays.equals(result, expected.get(index))) {
                                failures.add(w.name() + " differs on thread " + thread + ", call " + call);
                            }
                        }
                    } catch (Throwable e) {
                        failures.add("thread " + thread + " threw " + e);
                    }
                });
            }
            start.countDown();
        } finally {
            pool.shutdown();
        }
        assertTrue(pool.awaitTermination(5, TimeUnit.MINUTES), "threads sharing " + engine + " did not finish within 5 minutes");
        if (!failures.isEmpty()) {
            fail(failures.size() + " results of " + engine + " differed from the single-threaded run: "
                    + failures.stream().limit(10).toList());
        }
    }

    private static List<Workload> workloads() {
        List<Workload> list = new ArrayList<>();
        for (int[] shape : new int[][] {{3, 7}, {64, 207}, {2, 4098}, {1, 32000}}) {
            int rows = shape[0];
            int cols = shape[1];
            RandomInputs in = new RandomInputs(RandomInputs.seed("threads", rows, cols));
            float[] logits = in.gaussian(rows * cols, 4);
            int[] targets = in.targets(rows, cols);
            float[] soft = in.uniform(rows * cols, 0, 1);
            CrossEntropyOptions options = CrossEntropyOptions.defaults().classWeights(in.uniform(cols, 0.5, 2))
                    .labelSmoothing(0.1).zLoss(1e-4).softcap(20);
            int size = rows * cols;
            list.add(new Workload("crossEntropy " + rows + "x" + cols, 1 + size + rows, (engine, result) -> {
                float[] gradient = new float[size];
                float[] losses = new float[rows];
                double value = engine.crossEntropy(Matrix.of(logits, rows, cols), Matrix.vector(targets), options.reduction(Reduction.NONE),
                        LossOutputs.withGradient(Matrix.of(gradient, rows, cols)).losses(Matrix.vector(losses)));
                pack(result, value, gradient, losses);
            }));
            list.add(new Workload("crossEntropy in place " + rows + "x" + cols, 1 + size, (engine, result) -> {
                float[] overwritten = logits.clone();
                double value = engine.crossEntropy(Matrix.of(overwritten, rows, cols), Matrix.vector(targets), options,
                        LossOutputs.none().gradientInPlace());
                pack(result, value, overwritten);
            }));
            list.add(new Workload("bceWithLogits " + rows + "x" + cols, 1 + size, (engine, result) -> {
                float[] gradient = new float[size];
                double value = engine.bceWithLogits(Matrix.of(logits, rows, cols), Matrix.of(soft, rows, cols), null,
                        new PointwiseLoss.BceWithLogits(Reduction.MEAN), LossOutputs.withGradient(Matrix.of(gradient, rows, cols)));
                pack(result, value, gradient);
            }));
            list.add(new Workload("reduce SUM " + rows + "x" + cols, 1,
                    (engine, result) -> pack(result, engine.reduce(ReduceOp.SUM, Matrix.of(logits, rows, cols)))));
        }
        return List.copyOf(list);
    }

    /** The value's two halves as float bit patterns, then the arrays. */
    private static void pack(float[] result, double value, float[]... arrays) {
        result[0] = (float) value;
        int at = 1;
        for (float[] a : arrays) {
            System.arraycopy(a, 0, result, at, a.length);
            at += a.length;
        }
    }
}
