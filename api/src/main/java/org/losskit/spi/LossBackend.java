package org.losskit.spi;

import org.losskit.CrossEntropyOptions;
import org.losskit.DiceOptions;
import org.losskit.GaussianNllOptions;
import org.losskit.KlDivOptions;
import org.losskit.LossOutputs;
import org.losskit.Matrix;
import org.losskit.MultiMarginOptions;
import org.losskit.NllOptions;
import org.losskit.Op;
import org.losskit.Penalty;
import org.losskit.PointwiseLoss;
import org.losskit.ReduceOp;
import org.losskit.SoftmaxFocalOptions;

/**
 * A backend: the kernels behind {@link org.losskit.LossEngine}. The engine validates every argument before it
 * calls a backend (shapes, types, buffer sizes, overlaps, host target values), so a backend can assume valid
 * input; the semantics of each method are those of the engine method of the same name. Implementations must be
 * thread-safe: one instance serves every thread that shares an engine.
 */
public interface LossBackend extends AutoCloseable {

    String name();

    /** One line for logs and reports: what runs and how ("Vector API, 512-bit, 2 threads"). */
    String description();

    /** Whether this backend implements {@code op}; the engine routes other ops to the next backend. */
    boolean supports(Op op);

    /**
     * For host-resident data: whether a call of {@code elements} input elements should run here. A GPU backend
     * answers false below its host-to-device crossover so that small calls stay on the CPU.
     */
    default boolean wantsHostCall(Op op, long elements) {
        return true;
    }

    /** Whether this backend runs calls on {@link org.losskit.DeviceMemory} it owns. */
    default boolean acceptsDeviceMemory() {
        return false;
    }

    double crossEntropy(Matrix logits, Matrix targets, CrossEntropyOptions options, LossOutputs outputs);

    double crossEntropyProbs(Matrix logits, Matrix targetProbs, CrossEntropyOptions options, LossOutputs outputs);

    double nll(Matrix logProbs, Matrix targets, NllOptions options, LossOutputs outputs);

    double softmaxFocal(Matrix logits, Matrix targets, SoftmaxFocalOptions options, LossOutputs outputs);

    double multiMargin(Matrix input, Matrix targets, MultiMarginOptions options, LossOutputs outputs);

    double klDiv(Matrix input, Matrix target, KlDivOptions options, LossOutputs outputs);

    double dice(Matrix logits, Matrix target, DiceOptions options, LossOutputs outputs);

    /** {@code weight} is null or has the shape of {@code input}. */
    double pointwise(PointwiseLoss loss, Matrix input, Matrix target, Matrix weight, LossOutputs outputs);

    double gaussianNll(Matrix input, Matrix target, Matrix variance, GaussianNllOptions options, LossOutputs outputs);

    /** {@code gradient} is null or has the shape of {@code parameters}. */
    double penalty(Penalty penalty, Matrix parameters, Matrix gradient);

    double reduce(ReduceOp op, Matrix x);

    /** One result per row of {@code x} into {@code out} (float32, flat index = row). */
    void reduceRows(ReduceOp op, Matrix x, Matrix out);

    /** Flat index {@code r * cols + c} of the first largest element; NaN counts as largest; -1 when empty. */
    long argmax(Matrix x);

    /** Column of the first largest element of each row into {@code out} (int32). */
    void argmaxRows(Matrix x, Matrix out);

    /** Compensated {@code sum a_i b_i} over two views of the same shape. */
    double dot(Matrix a, Matrix b);

    /** Frees native resources; the engine calls it once. */
    @Override
    void close();
}
