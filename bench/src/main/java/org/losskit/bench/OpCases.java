package org.losskit.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import org.losskit.CrossEntropyOptions;
import org.losskit.DiceOptions;
import org.losskit.GaussianNllOptions;
import org.losskit.KlDivOptions;
import org.losskit.LossEngine;
import org.losskit.LossOutputs;
import org.losskit.Matrix;
import org.losskit.MultiMarginOptions;
import org.losskit.NllOptions;
import org.losskit.Op;
import org.losskit.Penalty;
import org.losskit.PointwiseLoss;
import org.losskit.ReduceOp;
import org.losskit.Reduction;
import org.losskit.SoftmaxFocalOptions;

/**
 * The cross-check's test cases: for every {@link Op} of the catalogue, calls on random data (fixed seed) at shapes
 * whose lengths hit the vector tails (1, 17, 207, 4098, 32003 columns are no multiple of any lane count above 1),
 * with the options that change the kernels' code paths. Each case builds its inputs once; {@link OpCase#run} makes
 * fresh output buffers, so the same case runs on the reference and on the backend under test.
 */
final class OpCases {
    /** Rows x columns of every loss case; the long rows reach the online (max, sum) paths of the kernels. */
    static final int[][] SHAPES = {{1, 1}, {3, 17}, {4, 207}, {2, 4098}, {2, 32003}};
    /** Elements of the whole-array reduction cases besides {@link #SHAPES}: long enough for the compensated paths. */
    static final int LONG_REDUCTION = (1 << 20) + 3;

    private OpCases() {}

    /** What one call produced: the returned value, the unreduced losses or per-row results, and the gradient. */
    record Outcome(double value, float[] perItem, float[] gradient) {}

    /** One call of one op on fixed inputs. */
    interface OpCase {
        Op op();

        /** Short description: variant and shape, e.g. "cross-entropy mean 2x4098". */
        String name();

        /** Input elements of the call: what a GPU backend's host crossover looks at. */
        long elements();

        Outcome run(LossEngine engine);
    }

    private record Case(Op op, String name, long elements, Call call) implements OpCase {
        public Outcome run(LossEngine engine) {
            return call.run(engine);
        }
    }

    @FunctionalInterface
    private interface Call {
        Outcome run(LossEngine engine);
    }

    /** Every case of every op, in catalogue order; the same seed gives the same data. */
    static List<OpCase> all(long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        List<OpCase> cases = new ArrayList<>();
        for (int[] shape : SHAPES) {
            addSoftmaxCases(cases, random, shape[0], shape[1]);
            addPointwiseCases(cases, random, shape[0], shape[1]);
            addPenaltyAndReductionCases(cases, random, shape[0], shape[1]);
        }
        float[] longVector = normal(random, LONG_REDUCTION, 1.0, 3.0);
        for (ReduceOp reduce : ReduceOp.values()) {
            cases.add(new Case(Op.REDUCTION, reduce + " 1x" + LONG_REDUCTION, LONG_REDUCTION,
                    e -> new Outcome(e.reduce(reduce, Matrix.vector(longVector)), null, null)));
        }
        cases.sort((a, b) -> Integer.compare(a.op().ordinal(), b.op().ordinal()));
        return cases;
    }

    private static void addSoftmaxCases(List<OpCase> cases, SplittableRandom random, int rows, int cols) {
        String shape = " " + rows + "x" + cols;
        float[] logits = normal(random, rows * cols, 0, 3);
        int[] targets = classIndices(random, rows, cols);
        int[] targetsWithIgnored = targets.clone();
        if (rows > 1) targetsWithIgnored[0] = CrossEntropyOptions.DEFAULT_IGNORE_INDEX;
        float[] classWeights = uniform(random, cols, 0.5, 2.0);

        cases.add(rowLoss(Op.CROSS_ENTROPY, "mean" + shape, logits, rows, cols,
                (e, x, out) -> e.crossEntropy(x, Matrix.vector(targets), CrossEntropyOptions.defaults(), out)));
        CrossEntropyOptions everyOption = CrossEntropyOptions.defaults().reduction(Reduction.SUM)
                .classWeights(classWeights).labelSmoothing(0.1).zLoss(1e-4).softcap(30);
        cases.add(rowLoss(Op.CROSS_ENTROPY, "sum weights+ignore+smoothing+zloss+softcap" + shape, logits, rows, cols,
                (e, x, out) -> e.crossEntropy(x, Matrix.vector(targetsWithIgnored), everyOption, out)));

        float[] probabilities = softmaxRows(normal(random, rows * cols, 0, 2), rows, cols);
        cases.add(rowLoss(Op.CROSS_ENTROPY_PROBS, "mean smoothing" + shape, logits, rows, cols,
                (e, x, out) -> e.crossEntropyProbs(x, Matrix.of(probabilities, rows, cols),
                        CrossEntropyOptions.defaults().labelSmoothing(0.05), out)));
        cases.add(rowLoss(Op.CROSS_ENTROPY_PROBS, "none weights" + shape, logits, rows, cols,
                (e, x, out) -> e.crossEntropyProbs(x, Matrix.of(probabilities, rows, cols),
                        CrossEntropyOptions.defaults().reduction(Reduction.NONE).classWeights(classWeights), out)));

        float[] logProbs = logSoftmaxRows(logits, rows, cols);
        NllOptions nllWeighted = new NllOptions(Reduction.MEAN, Matrix.vector(classWeights), CrossEntropyOptions.DEFAULT_IGNORE_INDEX, false);
        cases.add(rowLoss(Op.NLL, "mean weights+ignore" + shape, logProbs, rows, cols,
                (e, x, out) -> e.nll(x, Matrix.vector(targetsWithIgnored), nllWeighted, out)));
        cases.add(rowLoss(Op.NLL, "none" + shape, logProbs, rows, cols,
                (e, x, out) -> e.nll(x, Matrix.vector(targets), NllOptions.of(Reduction.NONE), out)));

        SoftmaxFocalOptions focal = new SoftmaxFocalOptions(Reduction.MEAN, Matrix.vector(classWeights), 2.0);
        cases.add(rowLoss(Op.SOFTMAX_FOCAL, "mean alpha gamma=2" + shape, logits, rows, cols,
                (e, x, out) -> e.softmaxFocal(x, Matrix.vector(targets), focal, out)));

        cases.add(rowLoss(Op.MULTI_MARGIN, "p=1 mean" + shape, logits, rows, cols,
                (e, x, out) -> e.multiMargin(x, Matrix.vector(targets), new MultiMarginOptions(Reduction.MEAN, 1, 1.0, null), out)));
        cases.add(rowLoss(Op.MULTI_MARGIN, "p=2 none weights" + shape, logits, rows, cols,
                (e, x, out) -> e.multiMargin(x, Matrix.vector(targets),
                        new MultiMarginOptions(Reduction.NONE, 2, 0.5, Matrix.vector(classWeights)), out)));

        float[] logQ = logSoftmaxRows(normal(random, rows * cols, 0, 1), rows, cols);
        float[] logTarget = logSoftmaxRows(normal(random, rows * cols, 0, 1), rows, cols);
        cases.add(elementLoss(Op.KL_DIV, "batchmean" + shape, logQ, rows, cols,
                (e, x, out) -> e.klDiv(x, Matrix.of(probabilities, rows, cols), new KlDivOptions(Reduction.BATCHMEAN, false), out)));
        cases.add(elementLoss(Op.KL_DIV, "none logTarget" + shape, logQ, rows, cols,
                (e, x, out) -> e.klDiv(x, Matrix.of(logTarget, rows, cols), new KlDivOptions(Reduction.NONE, true), out)));

        float[] mask = bernoulli(random, rows * cols, 0.3);
        cases.add(rowLoss(Op.DICE, "mean smooth=1" + shape, logits, rows, cols,
                (e, x, out) -> e.dice(x, Matrix.of(mask, rows, cols), new DiceOptions(Reduction.MEAN, 1.0), out)));
    }

    private static void addPointwiseCases(List<OpCase> cases, SplittableRandom random, int rows, int cols) {
        String shape = " " + rows + "x" + cols;
        int n = rows * cols;
        float[] input = normal(random, n, 0, 2);
        float[] target = normal(random, n, 0, 2);
        float[] weight = uniform(random, n, 0.0, 2.0);
        float[] binary = bernoulli(random, n, 0.4);
        float[] softTarget = uniform(random, n, 0.0, 1.0);
        float[] signs = new float[n];
        for (int i = 0; i < n; i++) signs[i] = binary[i] * 2 - 1;
        float[] counts = new float[n];
        for (int i = 0; i < n; i++) counts[i] = random.nextInt(6);
        float[] posWeight = uniform(random, cols, 0.5, 3.0);

        record Pointwise(PointwiseLoss loss, float[] target, boolean weighted) {}
        List<Pointwise> losses = List.of(
                new Pointwise(new PointwiseLoss.Mse(Reduction.MEAN), target, false),
                new Pointwise(new PointwiseLoss.L1(Reduction.SUM), target, true),
                new Pointwise(new PointwiseLoss.SmoothL1(Reduction.NONE, 1.0), target, false),
                new Pointwise(new PointwiseLoss.Huber(Reduction.MEAN, 1.5), target, true),
                new Pointwise(new PointwiseLoss.LogCosh(Reduction.MEAN), target, false),
                new Pointwise(new PointwiseLoss.Quantile(Reduction.NONE, 0.3), target, false),
                new Pointwise(new PointwiseLoss.Hinge(Reduction.MEAN), signs, false),
                new Pointwise(new PointwiseLoss.SquaredHinge(Reduction.SUM), signs, true),
                new Pointwise(new PointwiseLoss.PoissonNll(Reduction.MEAN, true, true, PointwiseLoss.PoissonNll.DEFAULT_EPS), counts, false),
                new Pointwise(new PointwiseLoss.BceWithLogits(Reduction.MEAN), binary, false),
                new Pointwise(new PointwiseLoss.BceWithLogits(Reduction.NONE, Matrix.vector(posWeight)), softTarget, true),
                new Pointwise(new PointwiseLoss.SigmoidFocal(Reduction.MEAN, 0.25, 2.0), binary, false));
        for (Pointwise p : losses) {
            String name = p.loss().getClass().getSimpleName() + " " + p.loss().reduction().name().toLowerCase()
                    + (p.weighted() ? " weighted" : "") + shape;
            cases.add(elementLoss(p.loss().op(), name, input, rows, cols,
                    (e, x, out) -> e.pointwise(p.loss(), x, Matrix.of(p.target(), rows, cols),
                            p.weighted() ? Matrix.of(weight, rows, cols) : null, out)));
        }

        float[] variance = uniform(random, n, 0.1, 3.0);
        cases.add(elementLoss(Op.GAUSSIAN_NLL, "full mean" + shape, input, rows, cols,
                (e, x, out) -> e.gaussianNll(x, Matrix.of(target, rows, cols), Matrix.of(variance, rows, cols),
                        new GaussianNllOptions(Reduction.MEAN, true, GaussianNllOptions.DEFAULT_EPS), out)));
    }

    private static void addPenaltyAndReductionCases(List<OpCase> cases, SplittableRandom random, int rows, int cols) {
        String shape = " " + rows + "x" + cols;
        int n = rows * cols;
        float[] x = normal(random, n, 0.5, 2);
        float[] y = normal(random, n, 0, 1);
        for (Penalty penalty : List.of(new Penalty.L1(0.01), new Penalty.L2(0.1), new Penalty.ElasticNet(0.05, 0.3))) {
            cases.add(new Case(Op.PENALTY, penalty + shape, n, e -> {
                float[] gradient = new float[n];
                double value = e.penalty(penalty, Matrix.of(x, rows, cols), Matrix.of(gradient, rows, cols));
                return new Outcome(value, null, gradient);
            }));
        }
        for (ReduceOp reduce : ReduceOp.values()) {
            cases.add(new Case(Op.REDUCTION, reduce + shape, n,
                    e -> new Outcome(e.reduce(reduce, Matrix.of(x, rows, cols)), null, null)));
            cases.add(new Case(Op.REDUCTION, reduce + " per row" + shape, n, e -> {
                float[] out = new float[rows];
                e.reduceRows(reduce, Matrix.of(x, rows, cols), Matrix.vector(out));
                return new Outcome(0, out, null);
            }));
        }
        cases.add(new Case(Op.REDUCTION, "argmax" + shape, n, e -> new Outcome(e.argmax(Matrix.of(x, rows, cols)), null, null)));
        cases.add(new Case(Op.REDUCTION, "argmax per row" + shape, n, e -> {
            int[] out = new int[rows];
            e.argmaxRows(Matrix.of(x, rows, cols), Matrix.vector(out));
            float[] asFloats = new float[rows];
            for (int r = 0; r < rows; r++) asFloats[r] = out[r];
            return new Outcome(0, asFloats, null);
        }));
        cases.add(new Case(Op.REDUCTION, "dot" + shape, n, e -> new Outcome(e.dot(Matrix.of(x, rows, cols), Matrix.of(y, rows, cols)), null, null)));
    }

    /** A loss call with one output per row (softmax losses, Dice) and a gradient of the input's shape. */
    private static OpCase rowLoss(Op op, String name, float[] input, int rows, int cols, LossCall call) {
        return lossCase(op, name, input, rows, cols, rows, call);
    }

    /** A loss call with one output per element and a gradient of the input's shape. */
    private static OpCase elementLoss(Op op, String name, float[] input, int rows, int cols, LossCall call) {
        return lossCase(op, name, input, rows, cols, rows * cols, call);
    }

    private static OpCase lossCase(Op op, String name, float[] input, int rows, int cols, int lossCount, LossCall call) {
        return new Case(op, name, (long) rows * cols, e -> {
            float[] gradient = new float[rows * cols];
            float[] losses = new float[lossCount];
            LossOutputs outputs = LossOutputs.withGradient(Matrix.of(gradient, rows, cols)).losses(Matrix.vector(losses));
            double value = call.run(e, Matrix.of(input, rows, cols), outputs);
            return new Outcome(value, losses, gradient);
        });
    }

    @FunctionalInterface
    private interface LossCall {
        double run(LossEngine engine, Matrix input, LossOutputs outputs);
    }

    // ------------------------------------------------------------------ random data

    static float[] normal(SplittableRandom random, int n, double mean, double sd) {
        float[] values = new float[n];
        for (int i = 0; i < n; i++) values[i] = (float) (mean + sd * gaussian(random));
        return values;
    }

    /** Box-Muller: a standard normal from two uniforms (SplittableRandom has no nextGaussian of its own state). */
    private static double gaussian(SplittableRandom random) {
        double u = 1.0 - random.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random.nextDouble());
    }

    static float[] uniform(SplittableRandom random, int n, double from, double to) {
        float[] values = new float[n];
        for (int i = 0; i < n; i++) values[i] = (float) random.nextDouble(from, to);
        return values;
    }

    private static float[] bernoulli(SplittableRandom random, int n, double p) {
        float[] values = new float[n];
        for (int i = 0; i < n; i++) values[i] = random.nextDouble() < p ? 1f : 0f;
        return values;
    }

    static int[] classIndices(SplittableRandom random, int rows, int classes) {
        int[] targets = new int[rows];
        for (int r = 0; r < rows; r++) targets[r] = random.nextInt(classes);
        return targets;
    }

    /** Row-wise softmax in double: p_c = exp(z_c - max) / sum exp(z - max). */
    private static float[] softmaxRows(float[] z, int rows, int cols) {
        float[] logP = logSoftmaxRows(z, rows, cols);
        float[] p = new float[logP.length];
        for (int i = 0; i < p.length; i++) p[i] = (float) Math.exp(logP[i]);
        return p;
    }

    /** Row-wise log-softmax in double: z_c - max - log sum exp(z - max). */
    private static float[] logSoftmaxRows(float[] z, int rows, int cols) {
        float[] out = new float[z.length];
        for (int r = 0; r < rows; r++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < cols; c++) max = Math.max(max, z[r * cols + c]);
            double sum = 0;
            for (int c = 0; c < cols; c++) sum += Math.exp(z[r * cols + c] - max);
            double lse = max + Math.log(sum);
            for (int c = 0; c < cols; c++) out[r * cols + c] = (float) (z[r * cols + c] - lse);
        }
        return out;
    }
}
