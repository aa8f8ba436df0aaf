package org.losskit.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.losskit.CrossEntropyOptions;
import org.losskit.ErrorBound;
import org.losskit.LossOutputs;
import org.losskit.Matrix;
import org.losskit.Op;
import org.losskit.Reduction;

/**
 * Softmax cross-entropy on the cpu backend against the reference on every storage kind (the shared
 * {@code VectorDifferentialTest} sweeps the options on float arrays), with gradients written to native segments
 * and in place in strided and segment views, every diagnostic output compared.
 */
class CrossEntropyStorageTest extends EngineTestBase {
    private static final ErrorBound BOUND = Op.CROSS_ENTROPY.float32Bound();

    record Case(int rows, int classes, boolean weights, boolean ignore, double smoothing, double zLoss, double softcap,
                Reduction reduction) {}

    static CrossEntropyOptions options(Case c, SplittableRandom random) {
        CrossEntropyOptions o = CrossEntropyOptions.defaults().reduction(c.reduction()).labelSmoothing(c.smoothing())
                .zLoss(c.zLoss()).softcap(c.softcap());
        if (c.weights()) o = o.classWeights(Inputs.uniform(random, c.classes(), 0.2, 2));
        return o;
    }

    static int[] targets(Case c, SplittableRandom random) {
        int[] targets = new int[c.rows()];
        for (int r = 0; r < c.rows(); r++) {
            targets[r] = c.ignore() && r % 3 == 1 ? CrossEntropyOptions.DEFAULT_IGNORE_INDEX : random.nextInt(c.classes());
        }
        return targets;
    }

    /** Every storage kind, strided and segment outputs, and the in-place gradient, at sizes around a block. */
    @Test
    void everyStorageAndInPlace() {
        try (Arena arena = Arena.ofConfined()) {
            for (Inputs.Storage storage : Inputs.Storage.values()) {
                for (int classes : new int[] {VectorShapes.lanes() + 1, 702, 4098}) {
                    Case c = new Case(5, classes, true, true, 0.1, 1e-3, 0, Reduction.MEAN);
                    SplittableRandom random = new SplittableRandom(classes);
                    float[] values = Inputs.gaussian(random, c.rows() * classes, 4);
                    Matrix logits = Inputs.in(storage, values, c.rows(), classes, arena);
                    int[] targets = targets(c, random);
                    CrossEntropyOptions o = options(c, random);
                    compare(c, logits, targets, o, false);
                    if (storage == Inputs.Storage.ARRAY || storage == Inputs.Storage.NATIVE_SEGMENT
                            || storage == Inputs.Storage.STRIDED_ARRAY) {
                        compare(c, logits, targets, o, true);
                    }
                    compareOutputInSegment(c, logits, targets, o, arena);
                }
            }
        }
    }

    private static void compareOutputInSegment(Case c, Matrix logits, int[] targets, CrossEntropyOptions o, Arena arena) {
        Matrix gradCpu = Inputs.output(true, c.rows(), c.classes(), arena);
        Matrix gradRef = Inputs.output(false, c.rows(), c.classes(), arena);
        double lossCpu = cpu.crossEntropy(logits, Matrix.vector(targets), o, LossOutputs.withGradient(gradCpu));
        double lossRef = reference.crossEntropy(logits, Matrix.vector(targets), o, LossOutputs.withGradient(gradRef));
        Agreement.loss(c + " loss (segment gradient)", BOUND, lossCpu, lossRef);
        Agreement.gradient(c + " gradient (segment)", BOUND, Agreement.values(gradCpu), Agreement.values(gradRef));
    }

    /** Runs both backends with every output and compares them; {@code inPlace} copies the logits first. */
    static void compare(Case c, Matrix logits, int[] targets, CrossEntropyOptions o, boolean inPlace) {
        int rows = c.rows();
        int classes = c.classes();
        float[][] cpuOut = new float[6][rows];
        float[][] refOut = new float[6][rows];
        int[] argCpu = new int[rows];
        int[] argRef = new int[rows];
        Matrix cpuLogits = inPlace ? copy(logits) : logits;
        Matrix refLogits = inPlace ? copy(logits) : logits;
        Matrix gradCpu = inPlace ? cpuLogits : Matrix.of(new float[rows * classes], rows, classes);
        Matrix gradRef = inPlace ? refLogits : Matrix.of(new float[rows * classes], rows, classes);
        double lossCpu = cpu.crossEntropy(cpuLogits, Matrix.vector(targets), o, outputs(gradCpu, inPlace, cpuOut, argCpu));
        double lossRef = reference.crossEntropy(refLogits, Matrix.vector(targets), o, outputs(gradRef, inPlace, refOut, argRef));
        String name = c + (inPlace ? " in place" : "") + " " + logits;
        Agreement.loss(name + " loss", BOUND, lossCpu, lossRef);
        Agreement.gradient(name + " gradient", BOUND, Agreement.values(gradCpu), Agreement.values(gradRef));
        Agreement.losses(name + " row losses", BOUND, cpuOut[0], refOut[0]);
        Agreement.losses(name + " lse", BOUND, cpuOut[1], refOut[1]);
        Agreement.exact(name + " maxLogit", cpuOut[2], refOut[2]);
        Agreement.losses(name + " targetProbability", BOUND, cpuOut[3], refOut[3]);
        Agreement.losses(name + " entropy", BOUND, cpuOut[4], refOut[4]);
        for (int r = 0; r < rows; r++) assertEquals(argRef[r], argCpu[r], name + " argmax of row " + r);
    }

    private static LossOutputs outputs(Matrix grad, boolean inPlace, float[][] out, int[] argmax) {
        LossOutputs o = inPlace ? LossOutputs.none().gradientInPlace() : LossOutputs.withGradient(grad);
        return o.losses(Matrix.vector(out[0])).logSumExp(Matrix.vector(out[1])).maxLogit(Matrix.vector(out[2]))
                .targetProbability(Matrix.vector(out[3])).entropy(Matrix.vector(out[4])).argmax(Matrix.vector(argmax));
    }

    /** A float32 copy of the view's values that keeps its kind of storage where it can be written. */
    private static Matrix copy(Matrix m) {
        if (m.segment() != null && !m.segment().isReadOnly() && m.type() == org.losskit.ElementType.FLOAT32) {
            java.lang.foreign.MemorySegment copy = Arena.ofAuto().allocate(m.segment().byteSize(), 4);
            copy.copyFrom(m.segment());
            return Matrix.of(copy, m.type(), m.offset(), m.rows(), m.cols(), m.rowStride());
        }
        if (m.floatArray() != null) return Matrix.of(m.floatArray().clone(), m.offset(), m.rows(), m.cols(), m.rowStride());
        throw new IllegalArgumentException("no in-place copy for " + m);
    }
}
