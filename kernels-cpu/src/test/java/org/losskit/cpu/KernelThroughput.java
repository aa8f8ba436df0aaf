package org.losskit.cpu;

import java.util.SplittableRandom;

import org.losskit.CrossEntropyOptions;
import org.losskit.LossEngine;
import org.losskit.LossOutputs;
import org.losskit.Matrix;
import org.losskit.PointwiseLoss;
import org.losskit.ReduceOp;
import org.losskit.Reduction;

/**
 * A quick JMH-free throughput check of the headline kernels (the JMH benchmarks in bench are the figures to quote):
 * fused cross-entropy forward + gradient, BCE-with-logits forward + gradient, and sum against a plain streaming read.
 * Run: {@code java --add-modules jdk.incubator.vector -cp <test classpath> org.losskit.cpu.KernelThroughput [threads]}
 */
public final class KernelThroughput {
    private KernelThroughput() {}

    interface Body {
        double run();
    }

    static double best(String name, long elements, Body body) {
        double sink = 0;
        double bestRate = 0;
        long bytes = 0;
        long totalCalls = 0;
        java.util.function.LongSupplier allocated = allocatedBytesOfThisThread();
        for (int round = 0; round < 7; round++) {
            int calls = 0;
            long allocatedBefore = allocated.getAsLong();
            long start = System.nanoTime();
            long now;
            do {
                sink += body.run();
                calls++;
                now = System.nanoTime();
            } while (now - start < 300_000_000L);
            double rate = elements * (double) calls / (now - start);
            if (round >= 4) {
                bytes += allocated.getAsLong() - allocatedBefore;
                totalCalls += calls;
            }
            bestRate = Math.max(bestRate, rate);
        }
        System.out.printf("%-32s %.2f G elements/s (best of 7 rounds of 0.3 s), %d B allocated per call on the calling thread%n",
                name, bestRate, bytes / Math.max(1, totalCalls));
        return sink;
    }

    /** com.sun.management.ThreadMXBean#getCurrentThreadAllocatedBytes, reached by reflection (tests compile in the module). */
    static java.util.function.LongSupplier allocatedBytesOfThisThread() {
        try {
            Object bean = Class.forName("java.lang.management.ManagementFactory").getMethod("getThreadMXBean").invoke(null);
            java.lang.reflect.Method method = Class.forName("com.sun.management.ThreadMXBean").getMethod("getCurrentThreadAllocatedBytes");
            return () -> {
                try {
                    return (long) method.invoke(bean);
                } catch (ReflectiveOperationException e) {
                    return -1;
                }
            };
        } catch (ReflectiveOperationException e) {
            return () -> -1;
        }
    }

    public static void main(String[] args) {
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : Runtime.getRuntime().availableProcessors();
        SplittableRandom random = new SplittableRandom(7);
        double sink = 0;
        try (LossEngine engine = LossEngine.builder().backend("cpu").fallbackToReference(false).parallelism(threads).build()) {
            System.out.println(engine.backendDescription());
            for (int[] shape : new int[][] {{64, 32000}, {8, 128256}, {4096, 10}, {1, 151936}}) {
                int rows = shape[0];
                int classes = shape[1];
                Matrix logits = Matrix.of(Inputs.gaussian(random, rows * classes, 3), rows, classes);
                int[] t = new int[rows];
                for (int r = 0; r < rows; r++) t[r] = random.nextInt(classes);
                Matrix targets = Matrix.vector(t);
                LossOutputs out = LossOutputs.withGradient(Matrix.of(new float[rows * classes], rows, classes));
                CrossEntropyOptions o = CrossEntropyOptions.defaults();
                sink += best("cross-entropy fwd+grad " + rows + "x" + classes, (long) rows * classes,
                        () -> engine.crossEntropy(logits, targets, o, out));
            }
            int n = 1 << 20;
            Matrix x = Matrix.of(Inputs.gaussian(random, n, 3), 1, n);
            Matrix y = Matrix.of(Inputs.uniform(random, n, 0, 1), 1, n);
            LossOutputs bceOut = LossOutputs.withGradient(Matrix.of(new float[n], 1, n));
            PointwiseLoss.BceWithLogits bce = new PointwiseLoss.BceWithLogits(Reduction.MEAN);
            sink += best("bce-with-logits fwd+grad 1M", n, () -> engine.pointwise(bce, x, y, null, bceOut));
            int big = 1 << 24;
            float[] values = Inputs.gaussian(random, big, 1);
            Matrix whole = Matrix.of(values, 1, big);
            sink += best("sum 16M", big, () -> engine.reduce(ReduceOp.SUM, whole));
            sink += best("logsumexp 16M", big, () -> engine.reduce(ReduceOp.LOGSUMEXP, whole));
            sink += best("streaming read 16M (1 thread)", big, () -> {
                float acc = 0;
                for (float v : values) acc += v; // reference point: what one core reads (scalar add chain, so a lower bound)
                return acc;
            });
        }
        System.out.println(sink == 42 ? "" : "done");
    }
}
