package org.losskit.bench;

import java.util.Locale;
import java.util.Map;

import org.jetbrains.bio.npy.NpyArray;

import org.losskit.CrossEntropyOptions;
import org.losskit.Reduction;

/**
 * One case for {@code bench/run check}, read from NumPy arrays: the input (logits) as rows x cols (a 1-D input is
 * one row), the target as class indices or as floats of the input's shape, optional weights, the options and, when
 * the file has them, the loss and gradient another framework computed.
 *
 * <p>Names in an .npz (each also a command-line option, which wins): {@code input} (or {@code logits}),
 * {@code target} (or {@code targets}), {@code weight}, {@code pos_weight}, {@code op}, {@code reduction},
 * {@code ignore_index}, {@code label_smoothing}, {@code beta}, {@code delta}, {@code loss}, {@code grad}.
 */
record CheckInputs(CheckOp op, float[] input, int[] inputShape, int rows, int cols, int[] labels, float[] floatTarget,
                   float[] weight, float[] posWeight, Reduction reduction, int ignoreIndex, double labelSmoothing,
                   double beta, double delta, double[] expectedLoss, int[] expectedLossShape, float[] expectedGradient) {

    /** Builds a case from named arrays (an .npz's entries and the .npy files given one by one). */
    static CheckInputs from(Map<String, NpyArray> arrays) {
        NpyArray input = first(arrays, "input", "logits");
        if (input == null) throw new IllegalArgumentException("no input: give --input FILE.npy or an .npz entry named input (or logits)");
        NpyArray target = first(arrays, "target", "targets");
        if (target == null) throw new IllegalArgumentException("no target: give --target FILE.npy or an .npz entry named target (or targets)");
        NpyArray opName = arrays.get("op");
        if (opName == null) throw new IllegalArgumentException("no op: give --op NAME or an .npz entry named op");
        CheckOp op = CheckOp.parse(NpyArrays.string("op", opName));

        int[] shape = input.getShape();
        if (shape.length > 2 || shape.length == 0) {
            throw new IllegalArgumentException("input must be 1-D or 2-D (rows x classes), got " + NpyArrays.describe(input));
        }
        int rows = shape.length == 2 ? shape[0] : 1;
        int cols = shape[shape.length - 1];
        boolean indexTarget = NpyArrays.isInteger(target) && (op == CheckOp.CROSS_ENTROPY || op == CheckOp.NLL_LOSS);
        int[] labels = indexTarget ? NpyArrays.labels("target", target) : null;
        float[] floatTarget = indexTarget ? null : NpyArrays.floats("target", target);
        if (labels != null && labels.length != rows) {
            throw new IllegalArgumentException("target has " + labels.length + " class indices, the input " + rows + " rows");
        }
        if (floatTarget != null && NpyArrays.size(target) != NpyArrays.size(input)) {
            throw new IllegalArgumentException("target " + NpyArrays.describe(target) + " does not match input " + NpyArrays.describe(input));
        }
        NpyArray loss = arrays.get("loss");
        NpyArray grad = arrays.get("grad");
        if (grad != null && NpyArrays.size(grad) != NpyArrays.size(input)) {
            throw new IllegalArgumentException("grad " + NpyArrays.describe(grad) + " does not match input " + NpyArrays.describe(input));
        }
        return new CheckInputs(op, NpyArrays.floats("input", input), shape, rows, cols, labels, floatTarget,
                optionalFloats(arrays, "weight"), optionalFloats(arrays, "pos_weight"),
                reduction(arrays.get("reduction")),
                (int) scalarOr(arrays, "ignore_index", CrossEntropyOptions.DEFAULT_IGNORE_INDEX),
                scalarOr(arrays, "label_smoothing", 0), scalarOr(arrays, "beta", 1), scalarOr(arrays, "delta", 1),
                loss == null ? null : NpyArrays.doubles("loss", loss), loss == null ? null : loss.getShape(),
                grad == null ? null : NpyArrays.floats("grad", grad));
    }

    private static NpyArray first(Map<String, NpyArray> arrays, String name, String alias) {
        return arrays.containsKey(name) ? arrays.get(name) : arrays.get(alias);
    }

    private static float[] optionalFloats(Map<String, NpyArray> arrays, String name) {
        return arrays.containsKey(name) ? NpyArrays.floats(name, arrays.get(name)) : null;
    }

    private static double scalarOr(Map<String, NpyArray> arrays, String name, double otherwise) {
        return arrays.containsKey(name) ? NpyArrays.scalar(name, arrays.get(name)) : otherwise;
    }

    /** PyTorch's reduction names: mean (the default), sum, none. */
    private static Reduction reduction(NpyArray name) {
        if (name == null) return Reduction.MEAN;
        String value = NpyArrays.string("reduction", name);
        return switch (value.toLowerCase(Locale.ROOT)) {
            case "mean" -> Reduction.MEAN;
            case "sum" -> Reduction.SUM;
            case "none" -> Reduction.NONE;
            default -> throw new IllegalArgumentException("reduction: '" + value + "' is not mean, sum or none");
        };
    }
}
