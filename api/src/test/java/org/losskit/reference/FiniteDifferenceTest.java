package org.losskit.reference;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.losskit.CrossEntropyOptions;
import org.losskit.DiceOptions;
import org.losskit.GaussianNllOptions;
import org.losskit.KlDivOptions;
import org.losskit.LossEngine;
import org.losskit.LossOutputs;
import org.losskit.Matrix;
import org.losskit.MultiMarginOptions;
import org.losskit.NllOptions;
import org.losskit.Penalty;
import org.losskit.PointwiseLoss;
import org.losskit.Reduction;
import org.losskit.SoftmaxFocalOptions;
import org.losskit.testing.RandomInputs;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * Central-difference gradient check of every op with a gradient, and of every option that changes the gradient,
 * on the reference backend through the public API.
 *
 * <p>For input element i, (L(x + h e_i) - L(x - h e_i)) / (2h) is compared with the gradient the call wrote.
 * The perturbed points are floats (inputs are float32), so the step used is the exact difference of the two
 * floats. Inputs are kept away from kinks (|d| = 0, beta, delta; 1 - t x = 0; margins) by at least 0.05, far
 * more than the step.
 *
 * <p>Tolerance: the returned loss is a double accurate to about 1e-15 relative, so the difference quotient with
 * h = 2^-11 carries a rounding error near 1e-15 |L| / h (about 1e-12 |L|) and a truncation error h^2 |L'''| / 6
 * (about 4e-8 |L'''|). The gradient is stored as float32, off by up to 6e-8 relative. Hence
 * {@code |g - fd| <= 1e-6 (|fd| + max |fd|)}: a few float32 ulps of the largest entry, and 1e-6 relative, which
 * a missing factor (a softcap slope, a reduction scale, a weight) exceeds by orders of magnitude.
 */
class FiniteDifferenceTest {
    private static final double STEP = 0x1p-11;
    private static final double TOLERANCE = 1e-6;
    private static final LossEngine ENGINE = LossEngine.builder().backend("reference").build();

    @AfterAll
    static void close() {
        ENGINE.close();
    }

    /** A loss call on an input view; the gradient goes where {@code outputs} says. */
    @FunctionalInterface
    interface LossCall {
        double run(Matrix input, LossOutputs outputs);
    }

    private record Case(String name, float[] input, int rows, int cols, LossCall call) {}

    @TestFactory
    Stream<DynamicTest> gradientMatchesCentralDifferences() {
        return cases().stream().map(c -> DynamicTest.dynamicTest("finite differences: " + c.name(), () -> check(c)));
    }

    private static List<Case> cases() {
        List<Case> cases = new ArrayList<>();
        int rows = 3;
        int classes = 5;
        RandomInputs in = new RandomInputs(RandomInputs.seed("finite-differences"));
        float[] logits = in.gaussian(rows * classes, 2);
        int[] targets = {1, 4, 0};
        int[] withIgnored = {1, CrossEntropyOptions.DEFAULT_IGNORE_INDEX, 0};
        float[] classWeights = in.uniform(classes, 0.3, 2);
        float[] probs = in.probabilities(rows, classes);

        // Softmax cross-entropy: each option alone, all together, each reduction.
        CrossEntropyOptions plain = CrossEntropyOptions.defaults();
        List<CrossEntropyOptions> ceOptions = List.of(plain, plain.classWeights(classWeights), plain.labelSmoothing(0.2),
                plain.zLoss(0.05), plain.softcap(2.5), plain.classWeights(classWeights).labelSmoothing(0.2).zLoss(0.05).softcap(2.5));
        for (CrossEntropyOptions o : ceOptions) {
            for (Reduction reduction : List.of(Reduction.MEAN, Reduction.SUM, Reduction.NONE)) {
                CrossEntropyOptions ro = o.reduction(reduction);
                cases.add(new Case("crossEntropy " + ro, logits, rows, classes,
                        (x, out) -> ENGINE.crossEntropy(x, Matrix.vector(targets), ro, out)));
                cases.add(new Case("crossEntropy with an ignored row " + ro, logits, rows, classes,
                        (x, out) -> ENGINE.crossEntropy(x, Matrix.vector(withIgnored), ro, out)));
                cases.add(new Case("crossEntropyProbs " + ro, logits, rows, classes,
                        (x, out) -> ENGINE.crossEntropyProbs(x, Matrix.of(probs, rows, classes), ro, out)));
            }
        }

        float[] logProbs = in.uniform(rows * classes, -5, -0.1);
        for (Reduction reduction : List.of(Reduction.MEAN, Reduction.SUM)) {
            NllOptions o = new NllOptions(reduction, Matrix.vector(classWeights), CrossEntropyOptions.DEFAULT_IGNORE_INDEX, false);
            cases.add(new Case("nll " + o, logProbs, rows, classes, (x, out) -> ENGINE.nll(x, Matrix.vector(withIgnored), o, out)));
        }

        for (double gamma : new double[] {0, 0.5, 2}) {
            for (float[] alpha : Arrays.asList(null, classWeights)) {
                SoftmaxFocalOptions o = new SoftmaxFocalOptions(Reduction.MEAN, alpha == null ? null : Matrix.vector(alpha), gamma);
                cases.add(new Case("softmaxFocal " + o, logits, rows, classes, (x, out) -> ENGINE.softmaxFocal(x, Matrix.vector(targets), o, out)));
            }
        }

        // Multi-margin: every margin term margin - x_y + x_i kept at least 0.05 from its kink at 0.
        for (double margin : new double[] {1, 0.5}) {
            float[] marginInput = marginInputAwayFromKinks(in, rows, classes, targets, margin);
            for (int p : new int[] {1, 2}) {
                for (float[] w : Arrays.asList(null, classWeights)) {
                    MultiMarginOptions o = new MultiMarginOptions(Reduction.MEAN, p, margin, w == null ? null : Matrix.vector(w));
                    cases.add(new Case("multiMargin " + o, marginInput, rows, classes, (x, out) -> ENGINE.multiMargin(x, Matrix.vector(targets), o, out)));
                }
            }
        }

        float[] klInput = in.uniform(rows * classes, -4, -0.1);
        float[] klLogTarget = in.uniform(rows * classes, -4, 0);
        for (boolean logTarget : new boolean[] {false, true}) {
            for (Reduction reduction : List.of(Reduction.BATCHMEAN, Reduction.MEAN, Reduction.SUM)) {
                KlDivOptions o = new KlDivOptions(reduction, logTarget);
                float[] target = logTarget ? klLogTarget : probs;
                cases.add(new Case("klDiv " + o, klInput, rows, classes, (x, out) -> ENGINE.klDiv(x, Matrix.of(target, rows, classes), o, out)));
            }
        }

        float[] diceTarget = in.uniform(rows * classes, 0, 1);
        for (double smooth : new double[] {1, 1e-6}) {
            DiceOptions o = new DiceOptions(Reduction.MEAN, smooth);
            cases.add(new Case("dice " + o, logits, rows, classes, (x, out) -> ENGINE.dice(x, Matrix.of(diceTarget, rows, classes), o, out)));
        }

        // Element losses: targets t, inputs x = t + d with d away from each loss's kinks.
        int n = rows * classes;
        float[] t = in.uniform(n, -2, 2);
        float[] weight = in.uniform(n, 0.3, 2);
        float[] labels = in.signs(n);
        float[] soft = in.uniform(n, 0, 1);
        float[] counts = in.uniform(n, 0, 5);
        float[] posWeight = in.uniform(classes, 0.5, 3);
        record Pointwise(PointwiseLoss loss, float[] input, float[] target) {}
        List<Pointwise> pointwise = List.of(
                new Pointwise(new PointwiseLoss.Mse(Reduction.MEAN), offset(t, in.uniform(n, -2, 2)), t),
                new Pointwise(new PointwiseLoss.L1(Reduction.MEAN), offset(t, in.awayFrom(n, -2, 2, 0.05, 0)), t),
                new Pointwise(new PointwiseLoss.SmoothL1(Reduction.MEAN, 1), offset(t, in.awayFrom(n, -2, 2, 0.05, 0, -1, 1)), t),
                new Pointwise(new PointwiseLoss.SmoothL1(Reduction.MEAN, 0.5), offset(t, in.awayFrom(n, -2, 2, 0.05, 0, -0.5, 0.5)), t),
                new Pointwise(new PointwiseLoss.Huber(Reduction.MEAN, 1), offset(t, in.awayFrom(n, -2, 2, 0.05, -1, 1)), t),
                new Pointwise(new PointwiseLoss.Huber(Reduction.MEAN, 2.5), offset(t, in.awayFrom(n, -4, 4, 0.05, -2.5, 2.5)), t),
                new Pointwise(new PointwiseLoss.LogCosh(Reduction.MEAN), offset(t, in.uniform(n, -3, 3)), t),
                new Pointwise(new PointwiseLoss.Quantile(Reduction.MEAN, 0.1), offset(t, in.awayFrom(n, -2, 2, 0.05, 0)), t),
                new Pointwise(new PointwiseLoss.Quantile(Reduction.MEAN, 0.9), offset(t, in.awayFrom(n, -2, 2, 0.05, 0)), t),
                new Pointwise(new PointwiseLoss.Hinge(Reduction.MEAN), hingeInput(in.awayFrom(n, -1, 3, 0.05, 0), labels), labels),
                new Pointwise(new PointwiseLoss.SquaredHinge(Reduction.MEAN), hingeInput(in.awayFrom(n, -1, 3, 0.05, 0), labels), labels),
                new Pointwise(new PointwiseLoss.PoissonNll(Reduction.MEAN, true, false, PointwiseLoss.PoissonNll.DEFAULT_EPS), in.uniform(n, -2, 2), counts),
                new Pointwise(new PointwiseLoss.PoissonNll(Reduction.MEAN, false, false, PointwiseLoss.PoissonNll.DEFAULT_EPS), in.uniform(n, 0.2, 4), counts),
                new Pointwise(new PointwiseLoss.PoissonNll(Reduction.MEAN, false, true, PointwiseLoss.PoissonNll.DEFAULT_EPS), in.uniform(n, 0.2, 4), counts),
                new Pointwise(new PointwiseLoss.BceWithLogits(Reduction.MEAN), in.gaussian(n, 2), soft),
                new Pointwise(new PointwiseLoss.BceWithLogits(Reduction.MEAN, Matrix.vector(posWeight)), in.gaussian(n, 2), soft),
                new Pointwise(new PointwiseLoss.SigmoidFocal(Reduction.MEAN, 0.25, 2), in.gaussian(n, 2), soft),
                new Pointwise(new PointwiseLoss.SigmoidFocal(Reduction.MEAN, -1, 0), in.gaussian(n, 2), soft),
                new Pointwise(new PointwiseLoss.SigmoidFocal(Reduction.MEAN, 0.5, 1.5), in.gaussian(n, 2), soft));
        for (Pointwise p : pointwise) {
            for (float[] w : Arrays.asList(null, weight)) {
                cases.add(new Case(p.loss() + (w == null ? "" : " weighted"), p.input(), rows, classes,
                        (x, out) -> ENGINE.pointwise(p.loss(), x, Matrix.of(p.target(), rows, classes), w == null ? null : Matrix.of(w, rows, classes), out)));
            }
        }
        for (Reduction reduction : List.of(Reduction.MEAN, Reduction.SUM, Reduction.NONE)) {
            PointwiseLoss bce = new PointwiseLoss.BceWithLogits(reduction, Matrix.vector(posWeight));
            float[] bceInput = in.gaussian(n, 2);
            cases.add(new Case(bce + " weighted", bceInput, rows, classes,
                    (x, out) -> ENGINE.pointwise(bce, x, Matrix.of(soft, rows, classes), Matrix.of(weight, rows, classes), out)));
        }

        float[] variance = in.uniform(n, 0.2, 3);
        for (boolean full : new boolean[] {false, true}) {
            GaussianNllOptions o = new GaussianNllOptions(Reduction.MEAN, full, GaussianNllOptions.DEFAULT_EPS);
            cases.add(new Case("gaussianNll " + o, in.gaussian(n, 2), rows, classes,
                    (x, out) -> ENGINE.gaussianNll(x, Matrix.of(t, rows, classes), Matrix.of(variance, rows, classes), o, out)));
        }

        float[] parameters = in.awayFrom(n, -2, 2, 0.05, 0);
        for (Penalty p : List.of(new Penalty.L1(0.3), new Penalty.L2(0.7), new Penalty.ElasticNet(0.5, 0.25))) {
            cases.add(new Case("penalty " + p, parameters, rows, classes, (x, out) -> ENGINE.penalty(p, x, out.gradient())));
        }
        return cases;
    }

    private static void check(Case c) {
        float[] x = c.input().clone();
        float[] gradient = new float[x.length];
        c.call().run(Matrix.of(x, c.rows(), c.cols()), LossOutputs.withGradient(Matrix.of(gradient, c.rows(), c.cols())));
        double[] numeric = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            float original = x[i];
            float up = (float) (original + STEP);
            float down = (float) (original - STEP);
            x[i] = up;
            double lossUp = c.call().run(Matrix.of(x, c.rows(), c.cols()), LossOutputs.none());
            x[i] = down;
            double lossDown = c.call().run(Matrix.of(x, c.rows(), c.cols()), LossOutputs.none());
            x[i] = original;
            numeric[i] = (lossUp - lossDown) / ((double) up - down);
        }
        double maxAbs = 0;
        for (double v : numeric) maxAbs = Math.max(maxAbs, Math.abs(v));
        StringBuilder failures = new StringBuilder();
        for (int i = 0; i < x.length; i++) {
            double tolerance = TOLERANCE * (Math.abs(numeric[i]) + maxAbs);
            if (!(Math.abs(gradient[i] - numeric[i]) <= tolerance)) {
                failures.append(String.format("%n  [%d, %d]: analytic %.9g, central difference %.9g, tolerance %.3g",
                        i / c.cols(), i % c.cols(), gradient[i], numeric[i], tolerance));
            }
        }
        if (!failures.isEmpty()) fail(c.name() + ": gradient differs from central differences at" + failures);
    }

    /** x = t + d, rounded to float. */
    private static float[] offset(float[] t, float[] d) {
        float[] x = new float[t.length];
        for (int i = 0; i < t.length; i++) x[i] = t[i] + d[i];
        return x;
    }

    /** x with t x = m (so 1 - t x = 1 - m, away from 0 when m is away from 1): x = m t for t = +-1. */
    private static float[] hingeInput(float[] marginMinusOne, float[] labels) {
        float[] x = new float[labels.length];
        for (int i = 0; i < x.length; i++) x[i] = (marginMinusOne[i] + 1) * labels[i];
        return x;
    }

    /** Random rows whose margin terms margin - x_y + x_i are all at least 0.05 from 0. */
    private static float[] marginInputAwayFromKinks(RandomInputs in, int rows, int classes, int[] targets, double margin) {
        float[] x = new float[rows * classes];
        for (int r = 0; r < rows; r++) {
            boolean ok;
            do {
                float[] row = in.uniform(classes, -2, 2);
                ok = true;
                for (int i = 0; i < classes; i++) {
                    if (i != targets[r] && Math.abs(margin - row[targets[r]] + row[i]) < 0.05) ok = false;
                }
                System.arraycopy(row, 0, x, r * classes, classes);
            } while (!ok);
        }
        return x;
    }
}
