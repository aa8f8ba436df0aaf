package org.losskit.bench.jmh;

import java.util.concurrent.TimeUnit;

import org.losskit.CrossEntropyOptions;
import org.losskit.LossEngine;
import org.losskit.LossOutputs;
import org.losskit.Matrix;
import org.losskit.Op;
import org.losskit.bench.TorchCalls;
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
 * The libtorch peer of {@link CrossEntropyBenchmark} (same shapes, same logits and targets, same settings):
 * forward = logSoftmax + gather + mean, backward by libtorch's autograd. Built only with the {@code djl} profile.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 4, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx4g",
        "-Dai.djl.offline=true", "-DPYTORCH_VERSION=2.7.1"})
@State(Scope.Benchmark)
public class TorchCrossEntropyBenchmark {
    /** Names the series in {@code bench/run --jmh-summary}. */
    @Param({"libtorch"})
    public String impl;

    TorchCalls.TorchCall call;

    @Setup(Level.Trial)
    public void setUp(CrossEntropyBenchmark.Shape s) {
        if (!impl.equals("libtorch")) {
            throw new IllegalArgumentException("impl of a libtorch benchmark must be libtorch, got " + impl);
        }
        call = TorchCalls.crossEntropy(s.logits, s.targets, s.rows, s.vocab);
        float[] exactGradient = new float[s.logits.length];
        double exact;
        try (LossEngine reference = LossEngine.builder().backend("reference").build()) {
            exact = reference.crossEntropy(Matrix.of(s.logits, s.rows, s.vocab), Matrix.vector(s.targets),
                    CrossEntropyOptions.defaults(), LossOutputs.withGradient(Matrix.of(exactGradient, s.rows, s.vocab)));
        }
        Agreement.requireLoss("libtorch cross-entropy " + s.shape, Op.CROSS_ENTROPY, call.call(), exact);
        Agreement.requireGradient("libtorch cross-entropy " + s.shape, Op.CROSS_ENTROPY, call.gradient(), exactGradient);
    }

    @TearDown(Level.Trial)
    public void close() {
        call.close();
    }

    @Benchmark
    public double fusedForwardGradient() {
        return call.call();
    }
}
