package org.losskit.testing;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;

import org.losskit.CrossEntropyOptions;
import org.losskit.DiceOptions;
import org.losskit.ErrorBound;
import org.losskit.GaussianNllOptions;
import org.losskit.KlDivOptions;
import org.losskit.LossEngine;
import org.losskit.LossOutputs;
import org.losskit.Matrix;
import org.losskit.MultiMarginOptions;
import org.losskit.NllOptions;
import org.losskit.Op;
import org.losskit.PointwiseLoss;
import org.losskit.ReduceOp;
import org.losskit.Reduction;
import org.losskit.SoftmaxFocalOptions;
import org.losskit.testing.GoldenCases.GoldenCase;

/**
 * Runs golden cases (PyTorch 1.13) through the public {@link LossEngine} API and records in {@link Discrepancies}
 * every returned loss, unreduced loss and gradient element that is outside the bound {@code bounds} gives for its
 * op: {@link ErrorBound#REFERENCE} for the reference backend, {@link Op#float32Bound()} for float32 backends. The
 * golden gradient is the gradient of the returned value (of the sum of the losses for {@code none}), which is
 * exactly the engine's convention.
 *
 * <p>Used by {@link GoldenTestBase} (JUnit, every backend module) and by the bench report's {@code --golden} mode,
 * which runs without JUnit on the class path: nothing here needs it.
 */
public final class GoldenRunner {
    /**
     * Golden values that are not PyTorch 1.13 semantics, with the reason. The engine must give {@code expected}
     * there instead; nothing else is exempt.
     */
    private static final Map<String, Double> GOLDEN_ERRATA = Map.of(
            // The generator's scaled norm divides inf by inf; the Euclidean norm of a vector holding an infinity is
            // +inf (IEEE hypot, and torch.linalg.vector_norm / torch.norm in PyTorch 1.13).
            "reductions.json.gz case red_all_neg_inf_lse: l2", Double.POSITIVE_INFINITY);

    /**
     * How far a golden gradient element may itself be from the exact value. PyTorch computes a softmax gradient
     * as p - onehot in float64, which for a confident row (p_y = 1 - 3e-13) cancels down to an absolute error of
     * about one double ulp of 1 (2.2e-16): in {@code ce_edge_confident_correct} the golden p_y - 1 is
     * -2.80442e-13 while the exact value, which the other entries of its row confirm by summing to +2.80729e-13,
     * is -2.80729e-13. Golden gradients are therefore trusted to 1e-15 absolute, on top of the bound.
     */
    private static final double GOLDEN_GRADIENT_ERROR = 1e-15;

    private final LossEngine engine;
    private final Function<Op, ErrorBound> bounds;

    /** Runs cases on {@code engine}, each op checked within {@code bounds.apply(op)}. */
    public GoldenRunner(LossEngine engine, Function<Op, ErrorBound> bounds) {
        this.engine = Objects.requireNonNull(engine, "engine");
        this.bounds = Objects.requireNonNull(bounds, "bounds");
    }

    /** Runs {@code c}; every value outside its bound, and any exception, goes into {@code d}. */
    public void run(GoldenCase c, Discrepancies d) {
        try {
            dispatch(c, d);
        } catch (RuntimeException | AssertionError e) {
            d.add(c + ": threw " + e);
        }
    }

    private ErrorBound bound(Op op) {
        return bounds.apply(op);
    }

    private void dispatch(GoldenCase c, Discrepancies d) {
        switch (c.op()) {
            case "cross_entropy" -> crossEntropy(c, d);
            case "cross_entropy_probs" -> crossEntropyProbs(c, d);
            case "nll" -> nll(c, d);
            case "softmax_focal" -> softmaxFocal(c, d);
            case "multi_margin" -> multiMargin(c, d);
            case "kl_div" -> klDiv(c, d);
            case "dice" -> dice(c, d);
            case "gaussian_nll" -> gaussianNll(c, d);
            case "reductions" -> reductions(c, d);
            case "bce_with_logits", "mse", "l1", "smooth_l1", "huber", "log_cosh", "quantile", "hinge",
                 "squared_hinge", "poisson_nll", "sigmoid_focal" -> pointwise(c, d);
            default -> d.add(c + ": unknown golden op " + c.op());
        }
    }

    // ------------------------------------------------------------------------------------------ row losses

    private void crossEntropy(GoldenCase c, Discrepancies d) {
        int rows = c.integer("rows");
        int classes = c.integer("classes");
        Reduction reduction = reduction(c);
        CrossEntropyOptions options = CrossEntropyOptions.defaults().reduction(reduction)
                .ignoreIndex(c.integer("ignore_index")).labelSmoothing(c.number("label_smoothing"))
                .classWeights(c.floats("weight"));
        Outputs out = new Outputs(reduction, rows, rows, classes);
        double value = engine.crossEntropy(Matrix.of(c.floats("logits"), rows, classes), Matrix.vector(c.ints("target")),
                options, out.outputs);
        out.check(c, d, bound(Op.CROSS_ENTROPY), value);
    }

    private void crossEntropyProbs(GoldenCase c, Discrepancies d) {
        int rows = c.integer("rows");
        int classes = c.integer("classes");
        Reduction reduction = reduction(c);
        CrossEntropyOptions options = CrossEntropyOptions.defaults().reduction(reduction).labelSmoothing(c.number("label_smoothing"));
        Outputs out = new Outputs(reduction, rows, rows, classes);
        double value = engine.crossEntropyProbs(Matrix.of(c.floats("logits"), rows, classes),
                Matrix.of(c.floats("target_probs"), rows, classes), options, out.outputs);
        out.check(c, d, bound(Op.CROSS_ENTROPY_PROBS), value);
    }

    private void nll(GoldenCase c, Discrepancies d) {
        int rows = c.integer("rows");
        int classes = c.integer("classes");
        Reduction reduction = reduction(c);
        NllOptions options = new NllOptions(reduction, vectorOrNull(c.floats("weight")), c.integer("ignore_index"), false);
        Outputs out = new Outputs(reduction, rows, rows, classes);
        double value = engine.nll(Matrix.of(c.floats("log_probs"), rows, classes), Matrix.vector(c.ints("target")), options, out.outputs);
        out.check(c, d, bound(Op.NLL), value);
    }

    private void softmaxFocal(GoldenCase c, Discrepancies d) {
        int rows = c.integer("rows");
        int classes = c.integer("classes");
        Reduction reduction = reduction(c);
        SoftmaxFocalOptions options = new SoftmaxFocalOptions(reduction, vectorOrNull(c.floats("alpha")), c.number("gamma"));
        Outputs out = new Outputs(reduction, rows, rows, classes);
        double value = engine.softmaxFocal(Matrix.of(c.floats("logits"), rows, classes), Matrix.vector(c.ints("target")), options, out.outputs);
        out.check(c, d, bound(Op.SOFTMAX_FOCAL), value);
    }

    private void multiMargin(GoldenCase c, Discrepancies d) {
        int rows = c.integer("rows");
        int classes = c.integer("classes");
        Reduction reduction = reduction(c);
        Matrix weight = c.isNull("weight") ? null : Matrix.vector(c.floats("weight"));
        MultiMarginOptions options = new MultiMarginOptions(reduction, c.integer("p"), c.number("margin"), weight);
        Outputs out = new Outputs(reduction, rows, rows, classes);
        double value = engine.multiMargin(Matrix.of(c.floats("input"), rows, classes), Matrix.vector(c.ints("target")), options, out.outputs);
        out.check(c, d, bound(Op.MULTI_MARGIN), value);
    }

    private void klDiv(GoldenCase c, Discrepancies d) {
        int rows = c.integer("rows");
        int classes = c.integer("classes");
        Reduction reduction = reduction(c);
        Outputs out = new Outputs(reduction, rows * classes, rows, classes);
        double value = engine.klDiv(Matrix.of(c.floats("input"), rows, classes), Matrix.of(c.floats("target"), rows, classes),
                new KlDivOptions(reduction, c.bool("log_target")), out.outputs);
        out.check(c, d, bound(Op.KL_DIV), value);
    }

    private void dice(GoldenCase c, Discrepancies d) {
        int rows = c.integer("rows");
        int classes = c.integer("classes");
        Reduction reduction = reduction(c);
        Outputs out = new Outputs(reduction, rows, rows, classes);
        double value = engine.dice(Matrix.of(c.floats("logits"), rows, classes), Matrix.of(c.floats("target"), rows, classes),
                new DiceOptions(reduction, c.number("smooth")), out.outputs);
        out.check(c, d, bound(Op.DICE), value);
    }

    // ------------------------------------------------------------------------------------------ element losses

    private void gaussianNll(GoldenCase c, Discrepancies d) {
        int[] shape = matrixShape(c.intList("shape"));
        Reduction reduction = reduction(c);
        Outputs out = new Outputs(reduction, shape[0] * shape[1], shape[0], shape[1]);
        double value = engine.gaussianNll(Matrix.of(c.floats("input"), shape[0], shape[1]), Matrix.of(c.floats("target"), shape[0], shape[1]),
                Matrix.of(c.floats("var"), shape[0], shape[1]), new GaussianNllOptions(reduction, c.bool("full"), c.number("eps")), out.outputs);
        out.check(c, d, bound(Op.GAUSSIAN_NLL), value);
    }

    private void pointwise(GoldenCase c, Discrepancies d) {
        int[] shape = matrixShape(c.intList("shape"));
        Reduction reduction = reduction(c);
        PointwiseLoss loss = switch (c.op()) {
            case "bce_with_logits" -> new PointwiseLoss.BceWithLogits(reduction, posWeightPerColumn(c.floats("pos_weight"), shape[1]));
            case "mse" -> new PointwiseLoss.Mse(reduction);
            case "l1" -> new PointwiseLoss.L1(reduction);
            case "smooth_l1" -> new PointwiseLoss.SmoothL1(reduction, c.number("beta"));
            case "huber" -> new PointwiseLoss.Huber(reduction, c.number("delta"));
            case "log_cosh" -> new PointwiseLoss.LogCosh(reduction);
            case "quantile" -> new PointwiseLoss.Quantile(reduction, c.number("tau"));
            case "hinge" -> new PointwiseLoss.Hinge(reduction);
            case "squared_hinge" -> new PointwiseLoss.SquaredHinge(reduction);
            case "poisson_nll" -> new PointwiseLoss.PoissonNll(reduction, c.bool("log_input"), c.bool("full"), PointwiseLoss.PoissonNll.DEFAULT_EPS);
            case "sigmoid_focal" -> new PointwiseLoss.SigmoidFocal(reduction, c.number("alpha"), c.number("gamma"));
            default -> throw new IllegalStateException("not an element loss: " + c.op());
        };
        String inputKey = c.isNull("input") ? "logits" : "input";
        float[] weight = c.op().equals("bce_with_logits") ? c.floats("weight") : null;
        Outputs out = new Outputs(reduction, shape[0] * shape[1], shape[0], shape[1]);
        double value = engine.pointwise(loss, Matrix.of(c.floats(inputKey), shape[0], shape[1]),
                Matrix.of(c.floats("target"), shape[0], shape[1]),
                weight == null ? null : Matrix.of(weight, shape[0], shape[1]), out.outputs);
        out.check(c, d, bound(loss.op()), value);
    }

    // ------------------------------------------------------------------------------------------ reductions

    /**
     * sum, mean, l1: compensated, so for well-conditioned input (sum |x| at most 1e3 |sum x|) the float32 rounding of
     * the result is the float nearest the exact {@code math.fsum}; every result is also within the bound; max,
     * min and argmax are exact.
     */
    private void reductions(GoldenCase c, Discrepancies d) {
        float[] x = c.floats("input");
        Matrix all = Matrix.vector(x);
        ErrorBound bound = bound(Op.REDUCTION);
        double exactSum = c.number("sum");
        double l1 = c.number("l1");
        boolean wellConditioned = Double.isFinite(l1) && l1 <= 1e3 * Math.abs(exactSum);
        double sum = engine.reduce(ReduceOp.SUM, all);
        if (wellConditioned) d.equal(c + ": (float) sum", (float) sum, (float) exactSum);
        record Expected(ReduceOp op, String key) {}
        for (Expected e : List.of(new Expected(ReduceOp.SUM, "sum"), new Expected(ReduceOp.MEAN, "mean"),
                new Expected(ReduceOp.L1_NORM, "l1"), new Expected(ReduceOp.L2_NORM, "l2"),
                new Expected(ReduceOp.LOGSUMEXP, "logsumexp"))) {
            String where = c + ": " + e.key();
            double expected = GOLDEN_ERRATA.getOrDefault(where, c.number(e.key()));
            d.loss(where, bound, engine.reduce(e.op(), all), expected);
            // The per-row form over a single row must agree, rounded to float32.
            float[] row = new float[1];
            engine.reduceRows(e.op(), all, Matrix.vector(row));
            d.storedLoss(where + " (reduceRows)", bound, row[0], expected);
        }
        d.equal(c + ": max", engine.reduce(ReduceOp.MAX, all), c.number("max"));
        d.equal(c + ": min", engine.reduce(ReduceOp.MIN, all), c.number("min"));
        d.equal(c + ": argmax", engine.argmax(all), (long) c.integer("argmax"));
        int[] rowArgmax = new int[1];
        engine.argmaxRows(all, Matrix.vector(rowArgmax));
        d.equal(c + ": argmaxRows", rowArgmax[0], c.integer("argmax"));
    }

    // ------------------------------------------------------------------------------------------ shared pieces

    /** The caller-side buffers of one call and the comparison of what they received with the golden values. */
    private static final class Outputs {
        final Reduction reduction;
        final float[] losses;
        final float[] gradient;
        final int cols;
        final LossOutputs outputs;

        Outputs(Reduction reduction, int lossCount, int rows, int cols) {
            this.reduction = reduction;
            this.cols = cols;
            this.losses = new float[lossCount];
            this.gradient = new float[rows * cols];
            LossOutputs o = LossOutputs.withGradient(Matrix.of(gradient, rows, cols));
            this.outputs = reduction == Reduction.NONE ? o.losses(Matrix.vector(losses)) : o;
        }

        void check(GoldenCase c, Discrepancies d, ErrorBound bound, double returned) {
            double[] loss = c.doubles("loss");
            if (reduction == Reduction.NONE) {
                d.loss(c + ": returned sum of losses", bound, returned, Discrepancies.exactSum(loss));
                d.losses(c + ": losses", bound, losses, loss);
            } else {
                d.loss(c + ": returned " + reduction + " loss", bound, returned, loss[0]);
            }
            d.gradient(c + ": gradient", bound, gradient, c.doubles("grad"), cols, GOLDEN_GRADIENT_ERROR);
        }
    }

    private static Reduction reduction(GoldenCase c) {
        return Reduction.valueOf(c.text("reduction").toUpperCase(java.util.Locale.ROOT));
    }

    /** A golden shape [n] is one row of n; [r, c] is r rows of c. */
    private static int[] matrixShape(int[] shape) {
        return switch (shape.length) {
            case 0 -> new int[] {1, 1};
            case 1 -> new int[] {1, shape[0]};
            case 2 -> shape;
            default -> throw new IllegalStateException("golden shape of rank " + shape.length + " is not supported");
        };
    }

    /** PyTorch broadcasts a one-element pos_weight over the last dimension; the API takes one value per column. */
    private static Matrix posWeightPerColumn(float[] posWeight, int cols) {
        if (posWeight == null || posWeight.length == cols) return vectorOrNull(posWeight);
        if (posWeight.length != 1) throw new IllegalStateException("pos_weight of " + posWeight.length + " values for " + cols + " columns");
        float[] broadcast = new float[cols];
        java.util.Arrays.fill(broadcast, posWeight[0]);
        return Matrix.vector(broadcast);
    }

    private static Matrix vectorOrNull(float[] values) {
        return values == null ? null : Matrix.vector(values);
    }
}
