package org.losskit.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;

import org.junit.jupiter.api.Test;
import org.losskit.CrossEntropyOptions;
import org.losskit.ErrorBound;
import org.losskit.LossOutputs;
import org.losskit.Matrix;
import org.losskit.Op;
import org.losskit.PointwiseLoss;
import org.losskit.ReduceOp;
import org.losskit.Reduction;

/** The edge inputs of DESIGN.md behave on the cpu backend as the reference documents them. */
class EdgeInputTest extends EngineTestBase {
    private static final ErrorBound CE = Op.CROSS_ENTROPY.float32Bound();

    /** One row per edge case, each long enough for vector loops and a scalar tail. */
    private static float[][] edgeRows(int classes) {
        float[][] rows = new float[10][classes];
        for (int c = 0; c < classes; c++) {
            rows[0][c] = c % 3 == 0 ? Float.NEGATIVE_INFINITY : (float) Math.sin(c); // masked vocabulary
            rows[1][c] = Float.NEGATIVE_INFINITY; // no distribution
            rows[2][c] = (float) Math.cos(c);
            rows[3][c] = (float) Math.cos(c);
            // One huge logit: with several tied at 1e30 the reference's p = exp(z - lse) gives each p = 1 (lse rounds
            // to 1e30 in double), where the kernels' exp(z - m) / S gives the right 1/k; reported, not tested.
            rows[4][c] = c == 3 ? 1e30f : -1e30f;
            rows[5][c] = Float.MIN_VALUE * (c % 7); // subnormals
            rows[6][c] = c % 5 == 0 ? -0f : 0.5f;
            rows[7][c] = (float) Math.sin(c) * 40; // ignored row
            // At 4099 classes the first block of 2048 is all -inf (its max is -inf) and the second starts with -inf.
            rows[8][c] = c <= classes / 2 ? Float.NEGATIVE_INFINITY : (float) Math.cos(c);
            // The first half sits 300 below the row max: per-block maxima far apart, exp(b - m) underflows in float.
            rows[9][c] = (float) Math.sin(c) + (c < classes / 2 ? -300f : 0f);
        }
        rows[2][classes / 2] = Float.NaN;
        rows[3][classes - 1] = Float.POSITIVE_INFINITY;
        return rows;
    }

    @Test
    void crossEntropyEdgeRows() {
        for (int classes : new int[] {VectorShapes.lanes() * 2 + 3, 4099}) {
            float[][] edge = edgeRows(classes);
            int rows = edge.length;
            float[] logits = new float[rows * classes];
            for (int r = 0; r < rows; r++) System.arraycopy(edge[r], 0, logits, r * classes, classes);
            int[] targets = {1, 0, 0, 0, 1, 2, 3, CrossEntropyOptions.DEFAULT_IGNORE_INDEX, classes - 1, 1};
            for (Reduction reduction : Reduction.values()) {
                CrossEntropyOptions o = CrossEntropyOptions.defaults().reduction(reduction);
                // Row by row, so that the NaN rows do not hide the finite ones in the reduced value.
                for (int r = 0; r < rows; r++) {
                    float[] values = Arrays.copyOfRange(logits, r * classes, (r + 1) * classes);
                    // In an array, and in a native segment, whose blocks the statistics read in place.
                    java.lang.foreign.MemorySegment segment = java.lang.foreign.Arena.ofAuto().allocate(4L * classes, 4);
                    java.lang.foreign.MemorySegment.copy(values, 0, segment, java.lang.foreign.ValueLayout.JAVA_FLOAT, 0, classes);
                    for (Matrix row : new Matrix[] {Matrix.of(values, 1, classes), Matrix.of(segment, 1, classes)}) {
                        Matrix target = Matrix.vector(new int[] {targets[r]});
                        CrossEntropyStorageTest.compare(new CrossEntropyStorageTest.Case(1, classes, false, false, 0, 0, 0,
                                reduction), row, new int[] {targets[r]}, o, false);
                        double value = cpu.crossEntropy(row, target, o, LossOutputs.none());
                        Agreement.loss("row " + r + " " + reduction + " " + row, CE, value,
                                reference.crossEntropy(row, target, o, LossOutputs.none()));
                    }
                }
            }
        }
    }

    @Test
    void allRowsIgnored() {
        float[] logits = new float[3 * 40];
        int[] targets = {-100, -100, -100};
        float[] grad = new float[logits.length];
        Arrays.fill(grad, 7f);
        double mean = cpu.crossEntropy(Matrix.of(logits, 3, 40), Matrix.vector(targets), CrossEntropyOptions.defaults(),
                LossOutputs.withGradient(Matrix.of(grad, 3, 40)));
        assertTrue(Double.isNaN(mean), "mean over no rows is NaN, as PyTorch");
        for (float g : grad) assertEquals(0f, g, "ignored rows get gradient 0");
        double zero = cpu.crossEntropy(Matrix.of(logits, 3, 40), Matrix.vector(targets),
                CrossEntropyOptions.defaults().allIgnoredMeanIsZero(true), LossOutputs.none());
        assertEquals(0.0, zero, "allIgnoredMeanIsZero");
        assertEquals(0.0, cpu.crossEntropy(Matrix.of(logits, 3, 40), Matrix.vector(targets),
                CrossEntropyOptions.defaults().reduction(Reduction.SUM), LossOutputs.none()));
    }

    @Test
    void reductionsOfSpecialValues() {
        int n = 3 * VectorShapes.lanes() + 5;
        for (float special : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 1e30f, -1e30f, Float.MIN_VALUE, -0f}) {
            for (int at : new int[] {0, n / 2, n - 1}) {
                float[] x = new float[n];
                for (int i = 0; i < n; i++) x[i] = (float) Math.sin(i);
                x[at] = special;
                Matrix m = Matrix.vector(x);
                for (ReduceOp op : ReduceOp.values()) {
                    Agreement.loss(op + " with " + special + " at " + at, Op.REDUCTION.float32Bound(), cpu.reduce(op, m), reference.reduce(op, m));
                }
                assertEquals(reference.argmax(m), cpu.argmax(m), "argmax with " + special + " at " + at);
            }
        }
        float[] allNegativeInfinity = new float[n];
        Arrays.fill(allNegativeInfinity, Float.NEGATIVE_INFINITY);
        assertEquals(Double.NEGATIVE_INFINITY, cpu.reduce(ReduceOp.LOGSUMEXP, Matrix.vector(allNegativeInfinity)));
        assertEquals(-1, cpu.argmax(Matrix.vector(new float[0])));
    }

    @Test
    void bceWithLogitsOfLargeAndSpecialLogits() {
        int n = 2 * VectorShapes.lanes() + 3;
        float[] specials = {1e30f, -1e30f, 80f, -80f, Float.MIN_VALUE, -0f, Float.NaN};
        for (float special : specials) {
            float[] x = new float[n];
            float[] t = new float[n];
            for (int i = 0; i < n; i++) {
                x[i] = i % 2 == 0 ? special : (float) Math.sin(i);
                t[i] = (i % 3) / 2f;
            }
            PointwiseLoss.BceWithLogits bce = new PointwiseLoss.BceWithLogits(Reduction.NONE);
            float[] lossesCpu = new float[n];
            float[] lossesRef = new float[n];
            float[] gradCpu = new float[n];
            float[] gradRef = new float[n];
            cpu.pointwise(bce, Matrix.vector(x), Matrix.vector(t), null,
                    LossOutputs.withGradient(Matrix.vector(gradCpu)).losses(Matrix.vector(lossesCpu)));
            reference.pointwise(bce, Matrix.vector(x), Matrix.vector(t), null,
                    LossOutputs.withGradient(Matrix.vector(gradRef)).losses(Matrix.vector(lossesRef)));
            Agreement.losses("bce losses at " + special, Op.BCE_WITH_LOGITS.float32Bound(), lossesCpu, lossesRef);
            Agreement.gradient("bce gradient at " + special, Op.BCE_WITH_LOGITS.float32Bound(), gradCpu, gradRef);
        }
    }

    /**
     * BCE-with-logits and sigmoid focal at infinite logits take their limits, as the reference: the term whose
     * coefficient is 0 adds exactly 0 (x = -inf, t = 0 gives 0, not 0 * inf), at every position of a vector and
     * in the scalar-padded tail.
     */
    @Test
    void logisticLossesAtInfiniteLogitsTakeTheirLimits() {
        float inf = Float.POSITIVE_INFINITY;
        int n = 4 * (VectorShapes.lanes() + 1) + 3;
        float[] x = new float[n];
        float[] t = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (i / 2) % 2 == 0 ? -inf : inf;
            t[i] = i % 2;
        }
        float[] losses = new float[n];
        float[] gradient = new float[n];
        double sum = cpu.pointwise(new PointwiseLoss.BceWithLogits(Reduction.NONE), Matrix.vector(x), Matrix.vector(t), null,
                LossOutputs.withGradient(Matrix.vector(gradient)).losses(Matrix.vector(losses)));
        for (int i = 0; i < n; i++) {
            boolean right = (x[i] > 0) == (t[i] == 1); // the logit's sign agrees with the label
            assertEquals(right ? 0f : inf, losses[i], "BCE loss at x = " + x[i] + ", t = " + t[i]);
            assertEquals(right ? 0f : (x[i] > 0 ? 1f : -1f), gradient[i], "BCE slope s - t at x = " + x[i] + ", t = " + t[i]);
        }
        assertEquals(inf, sum);
        for (double gamma : new double[] {0, 2}) {
            PointwiseLoss focal = new PointwiseLoss.SigmoidFocal(Reduction.NONE, 0.25, gamma);
            float[] lossesCpu = new float[n];
            float[] lossesRef = new float[n];
            float[] gradCpu = new float[n];
            float[] gradRef = new float[n];
            cpu.pointwise(focal, Matrix.vector(x), Matrix.vector(t), null, LossOutputs.withGradient(Matrix.vector(gradCpu)).losses(Matrix.vector(lossesCpu)));
            reference.pointwise(focal, Matrix.vector(x), Matrix.vector(t), null, LossOutputs.withGradient(Matrix.vector(gradRef)).losses(Matrix.vector(lossesRef)));
            for (int i = 0; i < n; i++) {
                assertEquals(lossesRef[i], lossesCpu[i], focal + " loss at x = " + x[i] + ", t = " + t[i]);
                assertEquals(gradRef[i], gradCpu[i], focal + " slope at x = " + x[i] + ", t = " + t[i]);
            }
        }
    }
}
