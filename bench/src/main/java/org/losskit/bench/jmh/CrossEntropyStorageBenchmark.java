package org.losskit.bench.jmh;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import org.losskit.CrossEntropyOptions;
import org.losskit.ElementType;
import org.losskit.LossEngine;
import org.losskit.LossOutputs;
import org.losskit.Matrix;
import org.losskit.Op;
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
 * The fused cross-entropy of the {@code cpu} backend with its logits in each storage: a float array, float32 in a
 * native memory segment (read in place with vector loads), bf16 in a short array (widened block by block); the
 * gradient always into a float array. Forward and gradient, and forward alone. Same values as
 * {@link CrossEntropyBenchmark} (bf16: those values rounded to bf16). Elements per second = score x rows x vocab.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx4g"})
@State(Scope.Benchmark)
public class CrossEntropyStorageBenchmark {
    @Param({"64x32000", "8x128256"})
    public String shape;

    @Param({"float-array", "float-segment", "bf16-array"})
    public String storage;

    Arena arena;
    LossEngine engine;
    Matrix logits;
    Matrix targets;
    LossOutputs withGradient;
    CrossEntropyOptions options;

    @Setup(Level.Trial)
    public void open() {
        int rows = BenchInputs.shape(shape)[0];
        int vocab = BenchInputs.shape(shape)[1];
        int n = rows * vocab;
        SplittableRandom random = new SplittableRandom(20261122L);
        float[] values = BenchInputs.logits(random, n);
        int[] t = BenchInputs.targets(random, rows, vocab);
        arena = Arena.ofShared();
        logits = switch (storage) {
            case "float-array" -> Matrix.of(values, rows, vocab);
            case "float-segment" -> {
                MemorySegment segment = arena.allocate(4L * n, 64);
                MemorySegment.copy(values, 0, segment, ValueLayout.JAVA_FLOAT, 0, n);
                yield Matrix.of(segment, rows, vocab);
            }
            case "bf16-array" -> {
                short[] halves = new short[n];
                for (int i = 0; i < n; i++) halves[i] = Matrix.floatToBfloat16(values[i]);
                yield Matrix.ofHalf(ElementType.BFLOAT16, halves, 0, rows, vocab, vocab);
            }
            default -> throw new IllegalArgumentException("storage " + storage);
        };
        targets = Matrix.vector(t);
        float[] gradient = new float[n];
        withGradient = LossOutputs.withGradient(Matrix.of(gradient, rows, vocab));
        options = CrossEntropyOptions.defaults();
        engine = LossEngine.builder().backend("cpu").fallbackToReference(false).build();

        float[] exactGradient = new float[n];
        double exact;
        try (LossEngine reference = LossEngine.builder().backend("reference").build()) {
            exact = reference.crossEntropy(logits, targets, options, LossOutputs.withGradient(Matrix.of(exactGradient, rows, vocab)));
        }
        Agreement.requireLoss("cpu cross-entropy " + storage + " " + shape, Op.CROSS_ENTROPY, fusedForwardGradient(), exact);
        Agreement.requireGradient("cpu cross-entropy " + storage + " " + shape, Op.CROSS_ENTROPY, gradient, exactGradient);
        Agreement.requireLoss("cpu cross-entropy forward " + storage + " " + shape, Op.CROSS_ENTROPY, forwardOnly(), exact);
    }

    @TearDown(Level.Trial)
    public void close() {
        engine.close();
        arena.close();
    }

    @Benchmark
    public double fusedForwardGradient() {
        return engine.crossEntropy(logits, targets, options, withGradient);
    }

    @Benchmark
    public double forwardOnly() {
        return engine.crossEntropy(logits, targets, options, LossOutputs.none());
    }
}
