package org.losskit.bench.jmh;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import org.losskit.LossEngine;
import org.losskit.LossOutputs;
import org.losskit.Matrix;
import org.losskit.Op;
import org.losskit.PointwiseLoss;
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
 * BCE with logits, mean, forward and gradient in one call, on about a million elements (1000003: no multiple of
 * any vector length). Elements per second = score x n.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 4, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx4g"})
@State(Scope.Benchmark)
public class BceWithLogitsBenchmark {
    @Param({"1000003"})
    public int n;

    @Param({"naive", "reference", "cpu"})
    public String impl;

    float[] logits;
    float[] targets;
    float[] gradient;
    LossEngine engine;
    Matrix logitsMatrix;
    Matrix targetsMatrix;
    LossOutputs outputs;
    PointwiseLoss.BceWithLogits loss;

    @Setup(Level.Trial)
    public void setUp() {
        SplittableRandom random = new SplittableRandom(20261122L);
        logits = new float[n];
        targets = new float[n];
        for (int i = 0; i < n; i++) {
            logits[i] = (float) (4 * (random.nextDouble() * 2 - 1));
            targets[i] = random.nextBoolean() ? 1f : 0f;
        }
        gradient = new float[n];
        logitsMatrix = Matrix.vector(logits);
        targetsMatrix = Matrix.vector(targets);
        outputs = LossOutputs.withGradient(Matrix.vector(gradient));
        loss = new PointwiseLoss.BceWithLogits(Reduction.MEAN);
        if (!impl.equals("naive")) engine = LossEngine.builder().backend(impl).fallbackToReference(false).build();

        float[] exactGradient = new float[n];
        double exact;
        try (LossEngine reference = LossEngine.builder().backend("reference").build()) {
            exact = reference.bceWithLogits(logitsMatrix, targetsMatrix, null, loss, LossOutputs.withGradient(Matrix.vector(exactGradient)));
        }
        Agreement.requireLoss(impl + " bce-with-logits", Op.BCE_WITH_LOGITS, forwardGradient(), exact);
        Agreement.requireGradient(impl + " bce-with-logits", Op.BCE_WITH_LOGITS, gradient, exactGradient);
    }

    @TearDown(Level.Trial)
    public void close() {
        if (engine != null) engine.close();
    }

    @Benchmark
    public double forwardGradient() {
        return engine == null ? NaiveLoops.bceWithLogits(logits, targets, gradient)
                : engine.bceWithLogits(logitsMatrix, targetsMatrix, null, loss, outputs);
    }
}
