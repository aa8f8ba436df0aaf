package org.losskit.bench.jmh;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import org.losskit.CrossEntropyOptions;
import org.losskit.LossEngine;
import org.losskit.LossOutputs;
import org.losskit.Matrix;
import org.losskit.cpu.BenchmarkAccess;
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
 * Where the time of the fused cross-entropy goes, on one core: each pass of the softmax kernels over one block of
 * 2048 logits in L1, the kernels' own loops (through {@link BenchmarkAccess}), and the whole call for one row of
 * 32000 logits (in L2) on a one-thread engine, forward and gradient or forward alone, so that the passes can be added
 * up against the call. A fused forward and gradient runs, per element: {@code shiftMax} once,
 * {@code expStoreAndSum} once (exps into the gradient row, their sum formed in the same loop), {@code scaleBlock}
 * once; the forward alone {@code shiftMax} and {@code expSumOnly}. {@code exactMax} is the max with Math.max
 * semantics that {@code shiftMax} replaced, {@code sumPass} the separate sum that the fused sum replaced.
 *
 * <p>Elements per second = score x n (blocks) or x rows x vocab (the row).
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx4g"})
public class SoftmaxPassesBenchmark {

    /** One block of logits as a softmax row holds them, its exps, and the lanes scratch. */
    @State(Scope.Thread)
    public static class Block {
        @Param({"2048"})
        public int n;

        float[] z;
        float[] g;
        float[] lanes;
        float shift;

        @Setup(Level.Trial)
        public void fill() {
            SplittableRandom random = new SplittableRandom(20261122L);
            z = new float[n];
            for (int i = 0; i < n; i++) z[i] = (float) (3 * (random.nextDouble() * 2 - 1) + random.nextDouble());
            g = new float[n];
            lanes = new float[BenchmarkAccess.lanes()];
            shift = BenchmarkAccess.exactMax(z, n, lanes);
            BenchmarkAccess.expBlockSum(z, n, shift, g, lanes);
        }
    }

    @Benchmark
    public float shiftMax(Block b) {
        return BenchmarkAccess.shiftMax(b.z, b.n, b.lanes);
    }

    @Benchmark
    public float exactMax(Block b) {
        return BenchmarkAccess.exactMax(b.z, b.n, b.lanes);
    }

    @Benchmark
    public float expStoreAndSum(Block b) {
        return BenchmarkAccess.expBlockSum(b.z, b.n, b.shift, b.g, b.lanes);
    }

    @Benchmark
    public float expSumOnly(Block b) {
        return BenchmarkAccess.expBlockSum(b.z, b.n, b.shift, null, b.lanes);
    }

    /** The gradient pass: g = g f - w. The factor 1 keeps the stored values from drifting over the iterations. */
    @Benchmark
    public float[] scaleBlock(Block b) {
        BenchmarkAccess.scaleBlock(b.g, b.n, 1f, 0f);
        return b.g;
    }

    @Benchmark
    public float sumPass(Block b) {
        return BenchmarkAccess.sum(b.g, b.n, b.lanes);
    }

    /** One row on a one-thread engine: the call whose passes the block benchmarks time one by one. */
    @State(Scope.Thread)
    public static class Row {
        @Param({"1x32000"})
        public String shape;

        LossEngine engine;
        Matrix logits;
        Matrix targets;
        LossOutputs withGradient;
        CrossEntropyOptions options;

        @Setup(Level.Trial)
        public void open() {
            int rows = BenchInputs.shape(shape)[0];
            int vocab = BenchInputs.shape(shape)[1];
            SplittableRandom random = new SplittableRandom(20261122L);
            float[] values = BenchInputs.logits(random, rows * vocab);
            int[] t = BenchInputs.targets(random, rows, vocab);
            logits = Matrix.of(values, rows, vocab);
            targets = Matrix.vector(t);
            withGradient = LossOutputs.withGradient(Matrix.of(new float[values.length], rows, vocab));
            options = CrossEntropyOptions.defaults();
            engine = LossEngine.builder().backend("cpu").fallbackToReference(false).parallelism(1).build();
        }

        @TearDown(Level.Trial)
        public void close() {
            engine.close();
        }
    }

    @Benchmark
    public double rowForwardGradient(Row r) {
        return r.engine.crossEntropy(r.logits, r.targets, r.options, r.withGradient);
    }

    @Benchmark
    public double rowForward(Row r) {
        return r.engine.crossEntropy(r.logits, r.targets, r.options, LossOutputs.none());
    }
}
