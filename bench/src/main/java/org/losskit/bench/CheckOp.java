package org.losskit.bench;

import java.util.Arrays;
import java.util.Locale;

import org.losskit.CrossEntropyOptions;
import org.losskit.LossEngine;
import org.losskit.LossOutputs;
import org.losskit.Matrix;
import org.losskit.NllOptions;
import org.losskit.Op;
import org.losskit.PointwiseLoss;
import org.losskit.Reduction;

/**
 * The ops {@code bench/run check} computes, named as PyTorch's functional API names them, each with the losskit op
 * whose documented bound measures agreement. Every op gets the inputs of {@link CheckInputs} and returns the value,
 * the per-item losses (for reduction "none") and the gradient of the value with respect to the input.
 */
enum CheckOp {
    CROSS_ENTROPY(Op.CROSS_ENTROPY),
    NLL_LOSS(Op.NLL),
    BINARY_CROSS_ENTROPY_WITH_LOGITS(Op.BCE_WITH_LOGITS),
    MSE_LOSS(Op.MSE),
    L1_LOSS(Op.L1),
    SMOOTH_L1_LOSS(Op.SMOOTH_L1),
    HUBER_LOSS(Op.HUBER);

    private final Op op;

    CheckOp(Op op) {
        this.op = op;
    }

    /** The losskit op whose bound applies. */
    Op op() {
        return op;
    }

    /** PyTorch's name: cross_entropy, nll_loss, binary_cross_entropy_with_logits, mse_loss, ... */
    String torchName() {
        return name().toLowerCase(Locale.ROOT);
    }

    static CheckOp parse(String name) {
        String normalized = name.trim().toUpperCase(Locale.ROOT).replace('-', '_');
        for (CheckOp c : values()) {
            if (c.name().equals(normalized)) return c;
        }
        if (normalized.equals("BCE_WITH_LOGITS")) return BINARY_CROSS_ENTROPY_WITH_LOGITS;
        if (normalized.equals("NLL")) return NLL_LOSS;
        throw new IllegalArgumentException("op: unknown '" + name + "'; the ops are "
                + Arrays.stream(values()).map(CheckOp::torchName).toList());
    }

    /** True when the per-item losses of reduction "none" are one per row (not one per element). */
    boolean isRowLoss() {
        return this == CROSS_ENTROPY || this == NLL_LOSS;
    }

    /** What one backend computed. */
    record Result(double value, float[] losses, float[] gradient) {}

    /** Runs this op on {@code engine}; the inputs are read, never written. */
    Result run(LossEngine engine, CheckInputs in) {
        int rows = in.rows();
        int cols = in.cols();
        Matrix input = Matrix.of(in.input(), rows, cols);
        float[] gradient = new float[in.input().length];
        float[] losses = in.reduction() == Reduction.NONE ? new float[isRowLoss() ? rows : rows * cols] : null;
        LossOutputs outputs = LossOutputs.withGradient(Matrix.of(gradient, rows, cols));
        if (losses != null) outputs = outputs.losses(Matrix.vector(losses));
        double value = switch (this) {
            case CROSS_ENTROPY -> {
                CrossEntropyOptions options = CrossEntropyOptions.defaults().reduction(in.reduction())
                        .ignoreIndex(in.ignoreIndex()).labelSmoothing(in.labelSmoothing()).classWeights(in.weight());
                yield in.labels() != null
                        ? engine.crossEntropy(input, Matrix.vector(in.labels()), options, outputs)
                        : engine.crossEntropyProbs(input, Matrix.of(in.floatTarget(), rows, cols), options, outputs);
            }
            case NLL_LOSS -> engine.nll(input, Matrix.vector(requireLabels(in)),
                    new NllOptions(in.reduction(), in.weight() == null ? null : Matrix.vector(in.weight()), in.ignoreIndex(), false),
                    outputs);
            case BINARY_CROSS_ENTROPY_WITH_LOGITS -> engine.bceWithLogits(input, floatTarget(in), elementWeight(in),
                    new PointwiseLoss.BceWithLogits(in.reduction(), in.posWeight() == null ? null : Matrix.vector(in.posWeight())),
                    outputs);
            case MSE_LOSS -> engine.pointwise(new PointwiseLoss.Mse(in.reduction()), input, floatTarget(in), null, outputs);
            case L1_LOSS -> engine.pointwise(new PointwiseLoss.L1(in.reduction()), input, floatTarget(in), null, outputs);
            case SMOOTH_L1_LOSS -> engine.pointwise(new PointwiseLoss.SmoothL1(in.reduction(), in.beta()), input, floatTarget(in), null, outputs);
            case HUBER_LOSS -> engine.pointwise(new PointwiseLoss.Huber(in.reduction(), in.delta()), input, floatTarget(in), null, outputs);
        };
        return new Result(value, losses, gradient);
    }

    private int[] requireLabels(CheckInputs in) {
        if (in.labels() == null) throw new IllegalArgumentException(torchName() + " needs integer class-index targets");
        return in.labels();
    }

    private Matrix floatTarget(CheckInputs in) {
        if (in.floatTarget() == null) throw new IllegalArgumentException(torchName() + " needs a floating-point target of the input's shape");
        return Matrix.of(in.floatTarget(), in.rows(), in.cols());
    }

    /** binary_cross_entropy_with_logits' weight: broadcast per element, or per column when it has cols values. */
    private static Matrix elementWeight(CheckInputs in) {
        float[] w = in.weight();
        if (w == null) return null;
        if (w.length == in.input().length) return Matrix.of(w, in.rows(), in.cols());
        if (w.length == in.cols()) {
            float[] full = new float[in.input().length];
            for (int i = 0; i < full.length; i++) full[i] = w[i % in.cols()];
            return Matrix.of(full, in.rows(), in.cols());
        }
        throw new IllegalArgumentException("weight has " + w.length + " values; binary_cross_entropy_with_logits needs one per "
                + "element (" + in.input().length + ") or per column (" + in.cols() + ")");
    }
}
