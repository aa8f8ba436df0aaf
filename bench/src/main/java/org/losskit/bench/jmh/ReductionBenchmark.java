package org.losskit.bench.jmh;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import org.losskit.LossEngine;
import org.losskit.Matrix;
import org.losskit.Op;
import org.losskit.ReduceOp;
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
 * {@code sum} and {@code logsumexp} over 16M floats (64 MiB, far beyond the caches), against a streaming-read
 * baseline measured in the same run: the fastest plain read of the same array, a Vector API loop with four
 * independent accumulators and no compensation, on one core and on all cores. "sum at 70% of the streaming
 * bandwidth" compares {@link #reduce} with {@link #streamingReadAllCores} when the backend splits the sum across
 * cores, else with {@link #streamingRead}. Elements per second = score x n.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 4, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx4g"})
public class ReductionBenchmark {

    @State(Scope.Benchmark)
    public static class Data {
        @Param({"16777219"})
        public int n;

        float[] x;
        Matrix matrix;

        @Setup(Level.Trial)
        public void fill() {
            SplittableRandom random = new SplittableRandom(20261122L);
            x = new float[n];
            for (int i = 0; i < n; i++) x[i] = (float) (random.nextDouble() * 4 - 2);
            matrix = Matrix.vector(x);
        }
    }

    @State(Scope.Benchmark)
    public static class Kernel {
        @Param({"reference", "cpu"})
        public String impl;

        @Param({"SUM", "LOGSUMEXP"})
        public ReduceOp op;

        LossEngine engine;

        @Setup(Level.Trial)
        public void open(Data data) {
            engine = LossEngine.builder().backend(impl).fallbackToReference(false).build();
            double exact;
            try (LossEngine reference = LossEngine.builder().backend("reference").build()) {
                exact = reference.reduce(op, data.matrix);
            }
            Agreement.requireLoss(impl + " " + op, Op.REDUCTION, engine.reduce(op, data.matrix), exact);
        }

        @TearDown(Level.Trial)
        public void close() {
            engine.close();
        }
    }

    @Benchmark
    public double reduce(Data data, Kernel kernel) {
        return kernel.engine.reduce(kernel.op, data.matrix);
    }

    /** Per-row logsumexp over a batch of Llama-2 rows, on the {@code cpu} backend (all cores). */
    @State(Scope.Benchmark)
    public static class Rows {
        @Param({"64x32000"})
        public String shape;

        LossEngine engine;
        Matrix x;
        Matrix out;

        @Setup(Level.Trial)
        public void open() {
            int rows = BenchInputs.shape(shape)[0];
            int cols = BenchInputs.shape(shape)[1];
            SplittableRandom random = new SplittableRandom(20261122L);
            float[] values = BenchInputs.logits(random, rows * cols);
            x = Matrix.of(values, rows, cols);
            float[] results = new float[rows];
            out = Matrix.vector(results);
            engine = LossEngine.builder().backend("cpu").fallbackToReference(false).build();
            float[] exact = new float[rows];
            try (LossEngine reference = LossEngine.builder().backend("reference").build()) {
                reference.reduceRows(ReduceOp.LOGSUMEXP, x, Matrix.vector(exact));
            }
            engine.reduceRows(ReduceOp.LOGSUMEXP, x, out);
            for (int r = 0; r < rows; r++) Agreement.requireLoss("cpu logsumexp of row " + r, Op.REDUCTION, results[r], exact[r]);
        }

        @TearDown(Level.Trial)
        public void close() {
            engine.close();
        }
    }

    @Benchmark
    public Matrix logSumExpPerRow(Rows rows) {
        rows.engine.reduceRows(ReduceOp.LOGSUMEXP, rows.x, rows.out);
        return rows.out;
    }

    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;

    /** Reads every float once on one thread: the bandwidth one core reaches. */
    @Benchmark
    public float streamingRead(Data data) {
        return readRange(data.x, 0, data.x.length);
    }

    /**
     * The same read split into one contiguous part per core on the common fork-join pool: the machine's
     * streaming bandwidth, the ceiling of a {@code sum} that splits its input across cores.
     */
    @Benchmark
    public double streamingReadAllCores(Data data) {
        float[] x = data.x;
        int parts = Runtime.getRuntime().availableProcessors();
        return IntStream.range(0, parts).parallel()
                .mapToDouble(p -> readRange(x, (int) ((long) x.length * p / parts), (int) ((long) x.length * (p + 1) / parts)))
                .sum();
    }

    /** Four vector accumulators to the loop bound, a scalar tail; a plain float sum, no compensation. */
    private static float readRange(float[] x, int from, int to) {
        int step = SPECIES.length();
        FloatVector a0 = FloatVector.zero(SPECIES);
        FloatVector a1 = FloatVector.zero(SPECIES);
        FloatVector a2 = FloatVector.zero(SPECIES);
        FloatVector a3 = FloatVector.zero(SPECIES);
        int i = from;
        int bound = from + SPECIES.loopBound(Math.max(0, to - from - 3 * step));
        for (; i < bound; i += 4 * step) {
            a0 = a0.add(FloatVector.fromArray(SPECIES, x, i));
            a1 = a1.add(FloatVector.fromArray(SPECIES, x, i + step));
            a2 = a2.add(FloatVector.fromArray(SPECIES, x, i + 2 * step));
            a3 = a3.add(FloatVector.fromArray(SPECIES, x, i + 3 * step));
        }
        float sum = a0.add(a1).add(a2.add(a3)).reduceLanes(VectorOperators.ADD);
        for (; i < to; i++) sum += x[i];
        return sum;
    }
}
