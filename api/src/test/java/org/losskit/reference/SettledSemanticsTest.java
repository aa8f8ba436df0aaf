package org.losskit.reference;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.losskit.CrossEntropyOptions;
import org.losskit.LossEngine;
import org.losskit.LossOutputs;
import org.losskit.Matrix;
import org.losskit.NllOptions;
import org.losskit.PointwiseLoss;
import org.losskit.Reduction;
import org.losskit.SoftmaxFocalOptions;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Edge semantics that the formulas leave open, pinned down with the evidence for each choice (the golden files
 * where they hold a case, PyTorch 1.13's autograd rules where they do not). Every backend must match these
 * through the differential tests.
 */
class SettledSemanticsTest {
    private static final LossEngine ENGINE = LossEngine.builder().backend("reference").build();

    @AfterAll
    static void close() {
        ENGINE.close();
    }

    private static final float[] LOGITS = {0.5f, -1f, 2f, 0.25f, 1.5f, -0.5f};

    /** Golden ce_edge_all_ignored_mean_is_nan and ce_edge_all_ignored_sum_is_zero: NaN (or 0) and a zero gradient. */
    @Test
    void everyRowIgnoredGivesNaNMeanZeroSumAndAZeroGradient() {
        int[] ignored = {-100, -100};
        for (CrossEntropyOptions o : new CrossEntropyOptions[] {CrossEntropyOptions.defaults(),
                CrossEntropyOptions.defaults().allIgnoredMeanIsZero(true), CrossEntropyOptions.defaults().reduction(Reduction.SUM)}) {
            float[] gradient = new float[6];
            double loss = ENGINE.crossEntropy(Matrix.of(LOGITS, 2, 3), Matrix.vector(ignored), o.labelSmoothing(0.1).zLoss(1e-3),
                    LossOutputs.withGradient(Matrix.of(gradient, 2, 3)));
            double expected = o.reduction() == Reduction.MEAN && !o.allIgnoredMeanIsZero() ? Double.NaN : 0;
            assertEquals(expected, loss, "loss of a call whose rows are all ignored, " + o);
            assertArrayEquals(new float[6], gradient, "gradient of a call whose rows are all ignored, " + o);
        }
    }

    /**
     * All target weights zero with MEAN: PyTorch divides by a total weight of 0, so the loss is 0/0 = NaN, and its
     * nll_loss backward scales each target entry by w_y / total_weight = 0 * inf = NaN, which log_softmax's
     * backward spreads over the row; ignored rows keep a zero gradient. (Golden ce_edge_zero_weights, with
     * reduction none, shows the zero-weight rows contribute 0 loss and 0 gradient.)
     */
    @Test
    void allTargetWeightsZeroGiveNaNMeanAndNaNGradientRows() {
        float[] weights = {0, 1, 2};
        float[] gradient = new float[6];
        double loss = ENGINE.crossEntropy(Matrix.of(LOGITS, 2, 3), Matrix.vector(new int[] {0, -100}),
                CrossEntropyOptions.defaults().classWeights(weights), LossOutputs.withGradient(Matrix.of(gradient, 2, 3)));
        assertTrue(Double.isNaN(loss), "mean over a total target weight of 0 is NaN, got " + loss);
        for (int c = 0; c < 3; c++) {
            assertTrue(Float.isNaN(gradient[c]), "gradient of the zero-weight row, column " + c + ", is NaN, got " + gradient[c]);
            assertEquals(0f, gradient[3 + c], "gradient of the ignored row, column " + c);
        }
    }

    /** DESIGN.md: a row of only -inf has no distribution; its loss and gradient are NaN, as PyTorch. */
    @Test
    void aRowOfOnlyMinusInfinityIsNaN() {
        float[] logits = {Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY, 0, 1};
        float[] gradient = new float[4];
        float[] losses = new float[2];
        ENGINE.crossEntropy(Matrix.of(logits, 2, 2), Matrix.vector(new int[] {0, 1}), CrossEntropyOptions.defaults().reduction(Reduction.NONE),
                LossOutputs.withGradient(Matrix.of(gradient, 2, 2)).losses(Matrix.vector(losses)));
        assertTrue(Float.isNaN(losses[0]) && Float.isNaN(gradient[0]) && Float.isNaN(gradient[1]), "the all -inf row is NaN");
        assertTrue(Float.isFinite(losses[1]) && Float.isFinite(gradient[2]) && Float.isFinite(gradient[3]), "the other row is unaffected");
    }

    /**
     * Golden softmax_focal *_mean cases divide the summed row losses by the number of rows, not by the summed
     * alpha of the targets: sfocal_5x4_g0.0_mean is 1.0668200806 = 5.3341004029 / 5 (sum / sum alpha_y would be 2.159).
     */
    @Test
    void softmaxFocalMeanDividesByRows() {
        float[] alpha = {0.25f, 0.5f, 2f};
        int[] targets = {2, 0};
        double sum = ENGINE.softmaxFocal(Matrix.of(LOGITS, 2, 3), Matrix.vector(targets),
                new SoftmaxFocalOptions(Reduction.SUM, Matrix.vector(alpha), 2), LossOutputs.none());
        double mean = ENGINE.softmaxFocal(Matrix.of(LOGITS, 2, 3), Matrix.vector(targets),
                new SoftmaxFocalOptions(Reduction.MEAN, Matrix.vector(alpha), 2), LossOutputs.none());
        assertEquals(sum / 2, mean, 1e-15 * Math.abs(sum), "softmax focal mean = sum / rows");
    }

    /**
     * Quantile at an exact tie t = x: no golden case has one. The golden generator's pinball loss is
     * max(tau u, (tau - 1) u), u = t - x, and PyTorch's maximum backward gives each of two equal arguments half
     * the gradient: d/dx = (-tau + (1 - tau)) / 2 = 1/2 - tau.
     */
    @Test
    void quantileGradientAtATieIsHalfMinusTau() {
        for (double tau : new double[] {0.1, 0.5, 0.9}) {
            float[] gradient = new float[2];
            double loss = ENGINE.pointwise(new PointwiseLoss.Quantile(Reduction.SUM, tau), Matrix.vector(new float[] {1.5f, -2f}),
                    Matrix.vector(new float[] {1.5f, -2f}), null, LossOutputs.withGradient(Matrix.vector(gradient)));
            assertEquals(0, loss, "quantile loss at ties, tau " + tau);
            assertEquals((float) (0.5 - tau), gradient[0], "quantile gradient at a tie, tau " + tau);
        }
    }

    /**
     * Hinge at the kink 1 - t x = 0: no golden case has one. The reference takes the subgradient 0, as
     * PyTorch's own margin loss (multi_margin_loss backward counts a term only where it is > 0) and relu; squared
     * hinge has slope 0 there anyway. L1 at d = 0 has gradient 0 (DESIGN.md).
     */
    @Test
    void hingeAndL1GradientsAtTheirKinksAreZero() {
        float[] x = {1f, -1f};
        float[] labels = {1f, -1f};
        for (PointwiseLoss loss : new PointwiseLoss[] {new PointwiseLoss.Hinge(Reduction.SUM), new PointwiseLoss.SquaredHinge(Reduction.SUM)}) {
            float[] gradient = {7, 7};
            double value = ENGINE.pointwise(loss, Matrix.vector(x), Matrix.vector(labels), null, LossOutputs.withGradient(Matrix.vector(gradient)));
            assertEquals(0, value, loss + " at the kink");
            assertArrayEquals(new float[2], gradient, 0f, loss + " gradient at the kink (either sign of zero)");
        }
        float[] gradient = {7, 7};
        ENGINE.pointwise(new PointwiseLoss.L1(Reduction.SUM), Matrix.vector(x), Matrix.vector(x), null, LossOutputs.withGradient(Matrix.vector(gradient)));
        assertArrayEquals(new float[2], gradient, 0f, "L1 gradient at d = 0 (either sign of zero)");
    }

    /**
     * BCE-with-logits at infinite logits takes its limits: log(1 + e^-x) -> 0 as x -> +inf, so a logit of -inf with
     * target 0 costs 0 and with target 1 costs +inf (and mirrored for +inf). The textbook form (1 - t) x + softplus(-x)
     * would give inf - inf = NaN there; the slope s k - pw t stays finite.
     */
    @Test
    void bceWithLogitsAtInfiniteLogitsTakesItsLimits() {
        float inf = Float.POSITIVE_INFINITY;
        float[] x = {-inf, -inf, inf, inf};
        float[] t = {0, 1, 0, 1};
        float[] losses = new float[4];
        float[] gradient = new float[4];
        ENGINE.pointwise(new PointwiseLoss.BceWithLogits(Reduction.NONE), Matrix.vector(x), Matrix.vector(t), null,
                LossOutputs.withGradient(Matrix.vector(gradient)).losses(Matrix.vector(losses)));
        assertArrayEquals(new float[] {0, inf, inf, 0}, losses, "BCE losses at -inf/+inf logits");
        assertArrayEquals(new float[] {0, -1, 1, 0}, gradient, "BCE slopes s - t at -inf/+inf logits");
    }

    /**
     * Tied logits far from zero: with three logits at 1e30 the softmax gives each 1/3 (lse = 1e30 + log 3 rounds to
     * 1e30 in double, so p must come from exp(z - m) / S, not exp(z - lse), which would give each probability 1).
     */
    @Test
    void tiedHugeLogitsShareTheProbability() {
        float[] logits = {1e30f, 1e30f, 1e30f, 0f};
        float[] gradient = new float[4];
        float[] probability = new float[1];
        float[] entropy = new float[1];
        double loss = ENGINE.crossEntropy(Matrix.of(logits, 1, 4), Matrix.vector(new int[] {0}), CrossEntropyOptions.defaults(),
                LossOutputs.withGradient(Matrix.of(gradient, 1, 4)).targetProbability(Matrix.vector(probability))
                        .entropy(Matrix.vector(entropy)));
        assertEquals(Math.log(3), entropy[0], 1e-6, "entropy of three equally likely classes (lse - z loses log 3 near 1e30)");
        assertEquals(Math.log(3), loss, 1e-12, "loss of a target tied with two other logits");
        assertEquals(1 / 3f, probability[0], 1e-7, "target probability");
        assertArrayEquals(new float[] {1 / 3f - 1, 1 / 3f, 1 / 3f, 0}, gradient, 1e-7f, "gradient p - onehot");
    }

    /**
     * An empty batch: NONE and SUM give 0; MEAN and BATCHMEAN divide 0 by 0 and give NaN, except the class-index
     * MEAN with allIgnoredMeanIsZero (no row counted). Every backend returns these without launching anything.
     */
    @Test
    void anEmptyBatchGivesZeroSumsAndNaNMeans() {
        Matrix noLogits = Matrix.of(new float[0], 0, 4);
        Matrix noTargets = Matrix.vector(new int[0]);
        for (Reduction reduction : Reduction.values()) {
            double expected = reduction == Reduction.NONE || reduction == Reduction.SUM ? 0 : Double.NaN;
            for (boolean zero : new boolean[] {false, true}) {
                double indexExpected = zero && reduction == Reduction.MEAN ? 0 : expected;
                CrossEntropyOptions o = CrossEntropyOptions.defaults().reduction(reduction).allIgnoredMeanIsZero(zero);
                assertEquals(indexExpected, ENGINE.crossEntropy(noLogits, noTargets, o, LossOutputs.none()),
                        "cross-entropy of no rows, " + o);
                assertEquals(indexExpected, ENGINE.nll(noLogits, noTargets,
                        new NllOptions(reduction, null, CrossEntropyOptions.DEFAULT_IGNORE_INDEX, zero), LossOutputs.none()),
                        "NLL of no rows, " + reduction + ", allIgnoredMeanIsZero " + zero);
                assertEquals(expected, ENGINE.crossEntropyProbs(noLogits, Matrix.of(new float[0], 0, 4), o, LossOutputs.none()),
                        "cross-entropy with probability targets of no rows (the option does not apply), " + o);
            }
        }
    }
}
