package org.losskit.bench.jmh;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import org.losskit.CrossEntropyOptions;
import org.losskit.LossEngine;
import org.losskit.LossOutputs;
import org.losskit.Matrix;
import org.losskit.Op;
import org.losskit.PointwiseLoss;
import org.losskit.ReduceOp;
import org.losskit.Reduction;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The {@code cpu} backend on one thread and on two across a size sweep, to place its parallel threshold and the
 * fixed cost of a row ({@code Chunks.PARALLEL_THRESHOLD}, {@code Chunks.ROW_COST_ELEMENTS} in kernels-cpu).
 *
 * <p>Every fork runs with {@code -Dlosskit.cpu.parallelThreshold=0}, so an engine of parallelism 2 splits every
 * call that has two chunks or more (a chunk is about 64K elements of work, whole rows for cross-entropy) whatever
 * the backend's default threshold; parallelism 1 runs on the calling thread as always. The size from which
 * parallelism 2 scores higher than parallelism 1 is the threshold the measurements support. Calls of one chunk run
 * on one thread at either parallelism: their two figures differ by noise only, which shows how wide it is.
 *
 * <p>Workloads: cross-entropy (mean, class-index targets, loss + gradient) with long rows (vocab 32000) and short
 * rows (vocab 10 and 100), BCE-with-logits (mean, loss + gradient) and {@code sum}. Scores are calls per second;
 * elements per second = score x rows x vocab, or x n. Command and figures: docs/BENCHMARKS.md,
 * "Parallel threshold and row cost".
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx4g", "-Dlosskit.cpu.parallelThreshold=0"})
public class ParallelThresholdBenchmark {

    /**
     * A {@code cpu} engine of parallelism {@code threads}; the threshold override makes 2 mean "split when there are 2
     * chunks". The name sorts after {@code n} and {@code shape}, so JMH runs the two thread counts of one size one
     * after the other, under the same load of a shared machine.
     */
    @State(Scope.Benchmark)
    public static class Engine {
        @Param({"1", "2"})
        public int threads;

        LossEngine engine;

        @Setup(Level.Trial)
        public void open() {
            engine = LossEngine.builder().backend("cpu").parallelism(threads).fallbackToReference(false).build();
        }

        @TearDown(Level.Trial)
        public void close() {
            engine.close();
        }
    }

    /** Cross-entropy at rows x vocab: long rows 2..64 x 32000 (64K..2M elements), short rows of 10 and 100. */
    @State(Scope.Benchmark)
    public static class CrossEntropyShape {
        @Param({"2x32000", "3x32000", "4x32000", "8x32000", "16x32000", "64x32000",
                "768x10", "1024x10", "2048x10", "4096x10", "16384x10", "65536x10", "409600x10",
                "128x100", "512x100", "1024x100", "4096x100", "16384x100", "40960x100"})
        public String shape;

        int rows;
        int vocab;
        Matrix logits;
        Matrix targets;
        LossOutputs outputs;
        CrossEntropyOptions options = CrossEntropyOptions.defaults();

        @Setup(Level.Trial)
        public void fill(Engine e) {
            String[] parts = shape.split("x");
            rows = Integer.parseInt(parts[0]);
            vocab = Integer.parseInt(parts[1]);
            SplittableRandom random = new SplittableRandom(20261122L);
            float[] x = new float[rows * vocab];
            for (int i = 0; i < x.length; i++) x[i] = (float) (3 * (random.nextDouble() * 2 - 1) + random.nextDouble());
            int[] t = new int[rows];
            for (int r = 0; r < rows; r++) t[r] = random.nextInt(vocab);
            float[] gradient = new float[x.length];
            logits = Matrix.of(x, rows, vocab);
            targets = Matrix.vector(t);
            outputs = LossOutputs.withGradient(Matrix.of(gradient, rows, vocab));

            float[] exactGradient = new float[x.length];
            double exact;
            try (LossEngine reference = LossEngine.builder().backend("reference").build()) {
                exact = reference.crossEntropy(logits, targets, options, LossOutputs.withGradient(Matrix.of(exactGradient, rows, vocab)));
            }
            String what = "cpu x" + e.threads + " cross-entropy " + shape;
            Agreement.requireLoss(what, Op.CROSS_ENTROPY, e.engine.crossEntropy(logits, targets, options, outputs), exact);
            Agreement.requireGradient(what, Op.CROSS_ENTROPY, gradient, exactGradient);
        }
    }

    /** n logits and 0/1 targets for BCE-with-logits, and the same logits for {@code sum}. */
    @State(Scope.Benchmark)
    public static class Elements {
        @Param({"16384", "131072", "262144", "524288", "1048576", "4194304"})
        public int n;

        Matrix logits;
        Matrix targets;
        LossOutputs outputs;
        PointwiseLoss.BceWithLogits bce = new PointwiseLoss.BceWithLogits(Reduction.MEAN);

        @Setup(Level.Trial)
        public void fill(Engine e) {
            SplittableRandom random = new SplittableRandom(20261122L);
            float[] x = new float[n];
            float[] t = new float[n];
            for (int i = 0; i < n; i++) {
                x[i] = (float) (4 * (random.nextDouble() * 2 - 1));
                t[i] = random.nextBoolean() ? 1f : 0f;
            }
            float[] gradient = new float[n];
            logits = Matrix.vector(x);
            targets = Matrix.vector(t);
            outputs = LossOutputs.withGradient(Matrix.vector(gradient));

            float[] exactGradient = new float[n];
            double exactBce;
            double exactSum;
            try (LossEngine reference = LossEngine.builder().backend("reference").build()) {
                exactBce = reference.bceWithLogits(logits, targets, null, bce, LossOutputs.withGradient(Matrix.vector(exactGradient)));
                exactSum = reference.reduce(ReduceOp.SUM, logits);
            }
            String what = "cpu x" + e.threads + " n=" + n;
            Agreement.requireLoss(what + " bce-with-logits", Op.BCE_WITH_LOGITS,
                    e.engine.bceWithLogits(logits, targets, null, bce, outputs), exactBce);
            Agreement.requireGradient(what + " bce-with-logits", Op.BCE_WITH_LOGITS, gradient, exactGradient);
            Agreement.requireLoss(what + " sum", Op.REDUCTION, e.engine.reduce(ReduceOp.SUM, logits), exactSum);
        }
    }

    @Benchmark
    public double crossEntropy(Engine e, CrossEntropyShape s) {
        return e.engine.crossEntropy(s.logits, s.targets, s.options, s.outputs);
    }

    @Benchmark
    public double bceWithLogits(Engine e, Elements x) {
        return e.engine.bceWithLogits(x.logits, x.targets, null, x.bce, x.outputs);
    }

    @Benchmark
    public double sum(Engine e, Elements x) {
        return e.engine.reduce(ReduceOp.SUM, x.logits);
    }
}
