package org.losskit.bench.jmh;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import org.losskit.CrossEntropyOptions;
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
 * Fused softmax cross-entropy, forward and gradient in one call (and the forward alone), mean over rows, class-index
 * targets, at the shapes of issues 3 and 16: a few rows of a large vocabulary, a batch of Llama-2 rows, short rows
 * (10 classes: MNIST, CIFAR-10; 32), one Qwen-2 row. Scores
 * are calls per second; elements per second = score x rows x vocab ({@code bench/run --jmh-summary} converts).
 *
 * <p>{@code impl}: {@code naive} (the plain scalar loop of {@link NaiveLoops}), {@code reference} (the float64
 * oracle), {@code cpu} (the Vector API backend; its trials fail with the reason when it is not on the class path).
 * The libtorch peer is {@code TorchCrossEntropyBenchmark} in the {@code djl} profile, with the same shapes and data.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 4, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx4g"})
public class CrossEntropyBenchmark {

    /** The logits, targets and buffers of one shape; shared by every impl so they all see the same values. */
    @State(Scope.Benchmark)
    public static class Shape {
        @Param({"8x128256", "64x32000", "4096x10", "65536x10", "4096x32", "1x151936"})
        public String shape;

        int rows;
        int vocab;
        float[] logits;
        /** The untouched logits that the in-place variant copies into {@link #work} before every call. */
        float[] pristine;
        float[] work;
        float[] gradient;
        int[] targets;

        @Setup(Level.Trial)
        public void fill() {
            String[] parts = shape.split("x");
            rows = Integer.parseInt(parts[0]);
            vocab = Integer.parseInt(parts[1]);
            SplittableRandom random = new SplittableRandom(20261122L);
            logits = BenchInputs.logits(random, rows * vocab);
            targets = BenchInputs.targets(random, rows, vocab);
            pristine = logits.clone();
            work = new float[logits.length];
            gradient = new float[logits.length];
        }
    }

    /** The implementation under test, checked against the reference before anything is timed. */
    @State(Scope.Benchmark)
    public static class Kernel {
        @Param({"naive", "reference", "cpu"})
        public String impl;

        LossEngine engine;
        Matrix logits;
        Matrix targets;
        Matrix work;
        LossOutputs outputs;
        LossOutputs inPlace;
        CrossEntropyOptions options;

        @Setup(Level.Trial)
        public void open(Shape s) {
            options = CrossEntropyOptions.defaults();
            logits = Matrix.of(s.logits, s.rows, s.vocab);
            targets = Matrix.vector(s.targets);
            work = Matrix.of(s.work, s.rows, s.vocab);
            outputs = LossOutputs.withGradient(Matrix.of(s.gradient, s.rows, s.vocab));
            inPlace = LossOutputs.none().gradientInPlace();
            if (!impl.equals("naive")) engine = LossEngine.builder().backend(impl).fallbackToReference(false).build();

            float[] exactGradient = new float[s.logits.length];
            double exact;
            try (LossEngine reference = LossEngine.builder().backend("reference").build()) {
                exact = reference.crossEntropy(logits, targets, options, LossOutputs.withGradient(Matrix.of(exactGradient, s.rows, s.vocab)));
            }
            Agreement.requireLoss(impl + " cross-entropy " + s.shape, Op.CROSS_ENTROPY, forwardGradient(s), exact);
            Agreement.requireGradient(impl + " cross-entropy " + s.shape, Op.CROSS_ENTROPY, s.gradient, exactGradient);
            Agreement.requireLoss(impl + " cross-entropy forward " + s.shape, Op.CROSS_ENTROPY, forward(s), exact);
            Agreement.requireLoss(impl + " in-place cross-entropy " + s.shape, Op.CROSS_ENTROPY, forwardGradientInPlace(s), exact);
            Agreement.requireGradient(impl + " in-place cross-entropy " + s.shape, Op.CROSS_ENTROPY, s.work, exactGradient);
        }

        double forwardGradient(Shape s) {
            return engine == null ? NaiveLoops.crossEntropy(s.logits, s.targets, s.rows, s.vocab, s.gradient)
                    : engine.crossEntropy(logits, targets, options, outputs);
        }

        double forward(Shape s) {
            return engine == null ? NaiveLoops.crossEntropyForward(s.logits, s.targets, s.rows, s.vocab)
                    : engine.crossEntropy(logits, targets, options, LossOutputs.none());
        }

        /** Copies the pristine logits into the work buffer, then writes the gradient over them. */
        double forwardGradientInPlace(Shape s) {
            System.arraycopy(s.pristine, 0, s.work, 0, s.pristine.length);
            return engine == null ? NaiveLoops.crossEntropy(s.work, s.targets, s.rows, s.vocab, s.work)
                    : engine.crossEntropy(work, targets, options, inPlace);
        }

        @TearDown(Level.Trial)
        public void close() {
            if (engine != null) engine.close();
        }
    }

    /** Loss and gradient into a separate buffer. */
    @Benchmark
    public double fusedForwardGradient(Shape s, Kernel k) {
        return k.forwardGradient(s);
    }

    /** The loss alone, no gradient buffer: the statistics pass only. */
    @Benchmark
    public double forwardOnly(Shape s, Kernel k) {
        return k.forward(s);
    }

    /**
     * Gradient written over the logits. Each call first copies fresh logits into the buffer (else every call after
     * the first would read gradients): subtract {@link #freshCopyForInPlace} to see the kernel alone.
     */
    @Benchmark
    public double fusedForwardGradientInPlace(Shape s, Kernel k) {
        return k.forwardGradientInPlace(s);
    }

    /** The fresh copy the in-place variant makes before each call, timed alone. */
    @Benchmark
    public float[] freshCopyForInPlace(Shape s) {
        System.arraycopy(s.pristine, 0, s.work, 0, s.pristine.length);
        return s.work;
    }
}
