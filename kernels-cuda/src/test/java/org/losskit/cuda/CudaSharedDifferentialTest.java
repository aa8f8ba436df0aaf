package org.losskit.cuda;

import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import org.losskit.CrossEntropyOptions;
import org.losskit.DiceOptions;
import org.losskit.LossEngine;
import org.losskit.Matrix;
import org.losskit.NllOptions;
import org.losskit.Op;
import org.losskit.Reduction;
import org.losskit.SoftmaxFocalOptions;
import org.losskit.testing.DifferentialTestBase;
import org.losskit.testing.Discrepancies;
import org.losskit.testing.RandomInputs;

/**
 * The shared differential base through the cuda backend (ops without kernels skip, naming the op), plus what the
 * base's sizes do not reach: every launch shape of the row kernels ({@link LaunchPlan}: warp per row, block per
 * row with many rows, split rows, which cross-entropy takes only without entropy), and NLL and softmax focal
 * edge rows and in-place gradients.
 */
class CudaSharedDifferentialTest extends DifferentialTestBase {
    /**
     * (rows, cols): warp per row (1000x3, 4x1024), the warp/block boundary (3x1025), a block per row with many rows
     * (5000x1100: 2 rows per multiprocessor on devices of up to 2500), split rows (2x4099, 1x128256, where the
     * call asks for no entropy).
     */
    private static final int[][] SHAPES = {{1000, 3}, {4, 1024}, {3, 1025}, {5000, 1100}, {2, 4099}, {1, 128256}};

    @Override
    protected LossEngine engineUnderTest() {
        return CudaTestDevice.engineOrNull("CudaSharedDifferentialTest");
    }

    @BeforeEach
    void requireDevice() {
        CudaTestDevice.assumeDevice();
    }

    @Override
    protected Set<Op> opsUnderTest() {
        return CudaBackend.SUPPORTED;
    }

    @Test
    @DisplayName("row kernels at every launch shape, cross-entropy with and without diagnostics (block and split rows)")
    void everyLaunchShape() {
        Discrepancies d = new Discrepancies();
        for (int[] shape : SHAPES) {
            int rows = shape[0];
            int cols = shape[1];
            RandomInputs in = new RandomInputs(RandomInputs.seed("cuda-shapes", rows, cols));
            float[] logits = in.gaussian(rows * cols, 4);
            int[] targets = in.targets(rows, cols);
            float[] q = in.probabilities(rows, cols);
            float[] weights = in.uniform(cols, 0.25, 2);
            float[] logProbs = in.uniform(rows * cols, -12, 0);
            float[] soft = in.uniform(rows * cols, 0, 1);
            String at = " " + rows + "x" + cols;
            CrossEntropyOptions ce = CrossEntropyOptions.defaults().classWeights(weights).labelSmoothing(0.1).zLoss(1e-4).softcap(15);
            for (boolean diagnostics : new boolean[] {false, true}) {
                compare(d, "crossEntropy" + at + " diagnostics " + diagnostics, Op.CROSS_ENTROPY, rows, cols, rows, diagnostics,
                        (e, out) -> e.crossEntropy(Matrix.of(logits, rows, cols), Matrix.vector(targets), ce, out));
                compare(d, "crossEntropyProbs" + at + " diagnostics " + diagnostics, Op.CROSS_ENTROPY_PROBS, rows, cols, rows, diagnostics,
                        (e, out) -> e.crossEntropyProbs(Matrix.of(logits, rows, cols), Matrix.of(q, rows, cols), ce, out));
            }
            SoftmaxFocalOptions focal = new SoftmaxFocalOptions(Reduction.MEAN, Matrix.vector(weights), 2);
            compare(d, "softmaxFocal" + at, Op.SOFTMAX_FOCAL, rows, cols, rows, false,
                    (e, out) -> e.softmaxFocal(Matrix.of(logits, rows, cols), Matrix.vector(targets), focal, out));
            NllOptions nll = new NllOptions(Reduction.MEAN, Matrix.vector(weights), CrossEntropyOptions.DEFAULT_IGNORE_INDEX, false);
            compare(d, "nll" + at, Op.NLL, rows, cols, rows, false,
                    (e, out) -> e.nll(Matrix.of(logProbs, rows, cols), Matrix.vector(targets), nll, out));
            compare(d, "dice" + at, Op.DICE, rows, cols, rows, false,
                    (e, out) -> e.dice(Matrix.of(logits, rows, cols), Matrix.of(soft, rows, cols), new DiceOptions(Reduction.MEAN, 1), out));
        }
        d.assertNone("row kernels at every launch shape vs reference");
    }

    @Test
    @DisplayName("softmaxFocal and nll: edge rows (confident, -inf masks, all -inf, +-1e30, NaN, ignored) and in-place gradients")
    void focalAndNllEdgeRowsAndInPlace() {
        Discrepancies d = new Discrepancies();
        for (int cols : List.of(3, 33, 1025, 32000)) {
            int rows = 6;
            RandomInputs in = new RandomInputs(RandomInputs.seed("cuda-focal-nll-edge", cols));
            float[] logits = in.gaussian(rows * cols, 3);
            int[] targets = in.targets(rows, cols);
            for (int c = 0; c < cols; c++) {
                logits[c] = c == targets[0] ? 40 : 0; // row 0: p_y = 1 - (C-1) e^-40: 1 - p_y only survives summed directly
                if (c != targets[1] && in.nextInt(2) == 0) logits[cols + c] = Float.NEGATIVE_INFINITY; // row 1: masked
                logits[2 * cols + c] = Float.NEGATIVE_INFINITY; // row 2: only -inf
                logits[3 * cols + c] = in.nextInt(2) == 0 ? 1e30f : -1e30f; // row 3: huge spread
            }
            logits[4 * cols + in.nextInt(cols)] = Float.NaN; // row 4: NaN; row 5: ordinary
            float[] alpha = in.uniform(cols, 0.1, 1);
            float[] logProbs = in.uniform(rows * cols, -12, 0);
            int[] someIgnored = targets.clone();
            someIgnored[2] = CrossEntropyOptions.DEFAULT_IGNORE_INDEX;
            for (double gamma : new double[] {0, 0.5, 2}) {
                for (Reduction reduction : new Reduction[] {Reduction.NONE, Reduction.MEAN, Reduction.SUM}) {
                    SoftmaxFocalOptions o = new SoftmaxFocalOptions(reduction, Matrix.vector(alpha), gamma);
                    compare(d, "softmaxFocal edge rows " + rows + "x" + cols + " " + o, Op.SOFTMAX_FOCAL, rows, cols, rows, false,
                            (e, out) -> e.softmaxFocal(Matrix.of(logits, rows, cols), Matrix.vector(targets), o, out));
                }
            }
            float[] ordinary = in.gaussian(rows * cols, 3);
            SoftmaxFocalOptions focal = new SoftmaxFocalOptions(Reduction.MEAN, Matrix.vector(alpha), 2);
            compareInPlace(d, "softmaxFocal in place " + rows + "x" + cols, Op.SOFTMAX_FOCAL, ordinary, rows, cols,
                    (e, x, out) -> e.softmaxFocal(x, Matrix.vector(targets), focal, out));
            for (boolean allIgnoredMeanIsZero : new boolean[] {false, true}) {
                NllOptions nll = new NllOptions(Reduction.MEAN, Matrix.vector(alpha), CrossEntropyOptions.DEFAULT_IGNORE_INDEX, allIgnoredMeanIsZero);
                compareInPlace(d, "nll in place " + rows + "x" + cols + " " + nll, Op.NLL, logProbs, rows, cols,
                        (e, x, out) -> e.nll(x, Matrix.vector(someIgnored), nll, out));
                int[] allIgnored = new int[rows];
                java.util.Arrays.fill(allIgnored, CrossEntropyOptions.DEFAULT_IGNORE_INDEX);
                compare(d, "nll all rows ignored " + rows + "x" + cols + " " + nll, Op.NLL, rows, cols, rows, false,
                        (e, out) -> e.nll(Matrix.of(logProbs, rows, cols), Matrix.vector(allIgnored), nll, out));
            }
        }
        d.assertNone("softmaxFocal and nll edge rows vs reference");
    }
}
