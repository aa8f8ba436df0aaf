package org.losskit.bench.jmh;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import org.losskit.LossEngine;
import org.losskit.LossOutputs;
import org.losskit.Matrix;
import org.losskit.Op;
import org.losskit.PointwiseLoss;
import org.losskit.Reduction;
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

/** The libtorch peer of {@link BceWithLogitsBenchmark}: same data and settings, backward by autograd. */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 4, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx4g",
        "-Dai.djl.offline=true", "-DPYTORCH_VERSION=2.7.1"})
@State(Scope.Benchmark)
public class TorchBceWithLogitsBenchmark {
    @Param({"1000003"})
    public int n;

    @Param({"libtorch"})
    public String impl;

    TorchCalls.TorchCall call;

    @Setup(Level.Trial)
    public void setUp() {
        if (!impl.equals("libtorch")) {
            throw new IllegalArgumentException("impl of a libtorch benchmark must be libtorch, got " + impl);
        }
        // The same values as BceWithLogitsBenchmark: same seed, same order of draws.
        SplittableRandom random = new SplittableRandom(20261122L);
        float[] logits = new float[n];
        float[] targets = new float[n];
        for (int i = 0; i < n; i++) {
            logits[i] = (float) (4 * (random.nextDouble() * 2 - 1));
            targets[i] = random.nextBoolean() ? 1f : 0f;
        }
        call = TorchCalls.bceWithLogits(logits, targets);
        float[] exactGradient = new float[n];
        double exact;
        try (LossEngine reference = LossEngine.builder().backend("reference").build()) {
            exact = reference.bceWithLogits(Matrix.vector(logits), Matrix.vector(targets), null,
                    new PointwiseLoss.BceWithLogits(Reduction.MEAN), LossOutputs.withGradient(Matrix.vector(exactGradient)));
        }
        Agreement.requireLoss("libtorch bce-with-logits", Op.BCE_WITH_LOGITS, call.call(), exact);
        Agreement.requireGradient("libtorch bce-with-logits", Op.BCE_WITH_LOGITS, call.gradient(), exactGradient);
    }

    @TearDown(Level.Trial)
    public void close() {
        call.close();
    }

    @Benchmark
    public double forwardGradient() {
        return call.call();
    }
}
