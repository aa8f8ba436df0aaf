package org.losskit.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.losskit.CrossEntropyOptions;
import org.losskit.ErrorBound;
import org.losskit.LossEngine;
import org.losskit.LossOutputs;
import org.losskit.Matrix;
import org.losskit.Op;
import org.losskit.Reduction;

/**
 * Cross-entropy over short rows, where {@link ShortRows#crossEntropyChunk} runs groups of one row to a vector lane:
 * against the reference at class counts from 1 to {@link ShortRows#MAX_CLASSES}, with enough rows for whole groups,
 * a chunk's last rows short of a group and several chunks; with every option the group kernel takes, strided views,
 * rows that the group hands back to the row path (NaN, +-inf, only -inf) and ignored rows inside a group; the same
 * bits at every thread count.
 */
class ShortRowsTest extends EngineTestBase {
    private static final ErrorBound BOUND = Op.CROSS_ENTROPY.float32Bound();

    /** Rows: two groups and a tail; several chunks (rowsPerChunk(10) = 385). */
    private static final int[] ROW_COUNTS = {2 * VectorShapes.lanes() + 5, 800};

    @Test
    void agreesWithTheReferenceAtEveryWidthOfRow() {
        for (int classes : new int[] {1, 2, 3, 10, VectorShapes.lanes(), 17, 32, 33, ShortRows.MAX_CLASSES}) {
            for (int rows : ROW_COUNTS) {
                for (int options = 0; options < 4; options++) {
                    SplittableRandom random = new SplittableRandom(31L * classes + rows + options);
                    CrossEntropyOptions o = CrossEntropyOptions.defaults();
                    if (options >= 1) o = o.labelSmoothing(0.1).zLoss(1e-3);
                    if (options >= 2) o = o.classWeights(Inputs.uniform(random, classes, 0.25, 2));
                    if (options == 3) o = o.reduction(Reduction.SUM);
                    int stride = options == 3 ? classes + 3 : classes;
                    float[] values = Inputs.gaussian(random, rows * stride, 3);
                    int[] targets = new int[rows];
                    for (int r = 0; r < rows; r++) targets[r] = options >= 1 && r % 7 == 3 ? -100 : random.nextInt(classes);
                    compare(classes + " classes, " + rows + " rows, options " + options,
                            Matrix.of(values, 0, rows, classes, stride), targets, o);
                }
            }
        }
    }

    @Test
    void rowsTheGroupHandsBackOrIgnoresSitInsideGroups() {
        int classes = 10;
        int rows = 48; // three groups of 16 lanes, and more of 8 or 4
        SplittableRandom random = new SplittableRandom(5);
        float[] values = Inputs.gaussian(random, rows * classes, 3);
        int[] targets = new int[rows];
        for (int r = 0; r < rows; r++) targets[r] = random.nextInt(classes);
        values[3 * classes + 4] = Float.NaN;
        values[5 * classes + 9] = Float.POSITIVE_INFINITY;
        for (int c = 0; c < classes; c++) values[6 * classes + c] = Float.NEGATIVE_INFINITY;
        for (int c = 0; c < classes; c += 2) values[7 * classes + c] = Float.NEGATIVE_INFINITY;
        values[8 * classes + targets[8]] = Float.NEGATIVE_INFINITY; // target logit -inf: loss +inf
        for (int c = 0; c < classes; c++) values[9 * classes + c] = c == 2 ? 0f : -0f; // max is a zero
        targets[10] = -100;
        values[11 * classes + 1] = Float.NaN;
        targets[11] = -100; // ignored with a NaN: still loss 0 and gradient 0
        targets[12] = -100;
        for (Reduction reduction : new Reduction[] {Reduction.NONE, Reduction.SUM}) {
            compare("special rows, " + reduction, Matrix.of(values, rows, classes), targets,
                    CrossEntropyOptions.defaults().reduction(reduction).labelSmoothing(0.05));
        }
    }

    @Test
    void sameBitsAtEveryThreadCount() {
        int rows = 4096;
        int classes = 10;
        SplittableRandom random = new SplittableRandom(9);
        Matrix logits = Matrix.of(Inputs.gaussian(random, rows * classes, 3), rows, classes);
        int[] targets = new int[rows];
        for (int r = 0; r < rows; r++) targets[r] = r % 11 == 0 ? -100 : random.nextInt(classes);
        CrossEntropyOptions o = CrossEntropyOptions.defaults().labelSmoothing(0.1);
        float[] firstGradient = null;
        float[] firstLosses = null;
        long firstBits = 0;
        for (int threads : new int[] {1, 2, 3, 8}) {
            try (LossEngine engine = LossEngine.builder().backend("cpu").fallbackToReference(false).parallelism(threads).build()) {
                float[] gradient = new float[rows * classes];
                float[] losses = new float[rows];
                double value = engine.crossEntropy(logits, Matrix.vector(targets), o,
                        LossOutputs.withGradient(Matrix.of(gradient, rows, classes)).losses(Matrix.vector(losses)));
                if (firstGradient == null) {
                    firstGradient = gradient;
                    firstLosses = losses;
                    firstBits = Double.doubleToRawLongBits(value);
                } else {
                    assertEquals(firstBits, Double.doubleToRawLongBits(value), "loss at " + threads + " threads");
                    assertArrayEquals(firstGradient, gradient, "gradient at " + threads + " threads");
                    assertArrayEquals(firstLosses, losses, "row losses at " + threads + " threads");
                }
            }
        }
    }

    /** cpu against reference: the reduced loss, the row losses and the gradient; and the forward alone. */
    private static void compare(String what, Matrix logits, int[] targets, CrossEntropyOptions o) {
        int rows = logits.rows();
        int classes = logits.cols();
        float[] gradCpu = new float[rows * classes];
        float[] gradRef = new float[rows * classes];
        float[] lossesCpu = new float[rows];
        float[] lossesRef = new float[rows];
        Matrix t = Matrix.vector(targets);
        double cpuValue = cpu.crossEntropy(logits, t, o,
                LossOutputs.withGradient(Matrix.of(gradCpu, rows, classes)).losses(Matrix.vector(lossesCpu)));
        double refValue = reference.crossEntropy(logits, t, o,
                LossOutputs.withGradient(Matrix.of(gradRef, rows, classes)).losses(Matrix.vector(lossesRef)));
        Agreement.loss(what + " loss", BOUND, cpuValue, refValue);
        Agreement.losses(what + " row losses", BOUND, lossesCpu, lossesRef);
        // Row by row: a NaN row would otherwise hide the scale of the others' gradients.
        for (int r = 0; r < rows; r++) {
            float[] rowCpu = java.util.Arrays.copyOfRange(gradCpu, r * classes, (r + 1) * classes);
            float[] rowRef = java.util.Arrays.copyOfRange(gradRef, r * classes, (r + 1) * classes);
            Agreement.gradient(what + " gradient row " + r, BOUND, rowCpu, rowRef);
            if (targets[r] == -100) for (float g : rowCpu) assertTrue(g == 0, what + " ignored row " + r + " has gradient " + g);
        }
        Agreement.loss(what + " forward only", BOUND, cpu.crossEntropy(logits, t, o, LossOutputs.none()), refValue);
    }
}
