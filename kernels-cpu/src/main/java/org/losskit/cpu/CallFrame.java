package org.losskit.cpu;

import org.losskit.LossOutputs;
import org.losskit.Matrix;

/**
 * The arguments of one chunked call: what a closure would capture, in fields, for the chunk work ({@link Chunks.Work},
 * {@link VectorBackend.RowWork}, constants that capture nothing) running on any of the engine's threads. A closure
 * per call would be handed to the workers and so could never be eliminated by escape analysis; each calling thread
 * instead reuses one frame ({@link Chunks#frame}). The calling thread writes the fields, {@link Chunks#run}
 * publishes them to the workers with its volatile hand-off and {@link #clear}s them when the call ends, so no caller
 * buffer stays reachable from a thread's frame. An op sets the fields it reads and leaves the others null or 0.
 */
final class CallFrame {
    /** The rows or elements the call runs over: logits, log-probabilities, an input, parameters, x (or a of a . b). */
    Matrix input;
    /** Class indices, target probabilities or element targets (or b of a . b); null if none. */
    Matrix target;
    /** Per-element weights of an element loss; null if none. */
    Matrix weight;
    /** A third input of an element loss (Gaussian NLL's variance); null if none. */
    Matrix extra;
    /** Where the gradient goes; null if none. */
    Matrix grad;
    /** The unreduced losses of an element loss, by flat index; null if not asked for. */
    Matrix losses;
    /** The per-row results of a row reduction or row argmax. */
    Matrix rowResults;
    /** The caller's outputs, for row losses. */
    LossOutputs out;
    /** The op's options (a {@code CrossEntropyOptions}, a {@code ReduceOp}, ...), cast back by the op's row work. */
    Object options;
    /** The formula of an element loss, set per call. */
    final ElementKernels.Kernel kernel = new ElementKernels.Kernel();
    /** The work of one row, for calls over rows. */
    VectorBackend.RowWork rowWork;
    /** Factor from derivatives to the gradient of the returned value. */
    double scale;
    /** Cross-entropy: the sum of the class weights (the class count without weights). */
    double weightSum;
    /** Cross-entropy: whether rows take the short-row kernel. */
    boolean shortRows;

    /** The calling thread's scratch for this call (its own, or one lent to a virtual thread for the call). */
    Scratch scratch;

    /** Whether a call holds this frame (a second call of the same thread, were there one, gets a fresh frame). */
    boolean inUse;

    /**
     * True when {@code thread} may read and write every operand of the call: false when one is a memory segment of a
     * confined arena, which only its owner thread may touch (the engine checked that the calling thread may).
     */
    boolean accessibleFrom(Thread thread) {
        return accessible(input, thread) && accessible(target, thread) && accessible(weight, thread)
                && accessible(extra, thread) && accessible(grad, thread) && accessible(losses, thread)
                && accessible(rowResults, thread) && (out == null || accessible(out.losses(), thread)
                && accessible(out.logSumExp(), thread) && accessible(out.maxLogit(), thread) && accessible(out.argmax(), thread)
                && accessible(out.targetProbability(), thread) && accessible(out.entropy(), thread));
    }

    private static boolean accessible(Matrix m, Thread thread) {
        return m == null || m.segment() == null || m.segment().isAccessibleBy(thread);
    }

    /** Ends the call: drops every reference to the caller's arguments and frees the frame. */
    void clear() {
        input = null;
        target = null;
        weight = null;
        extra = null;
        grad = null;
        losses = null;
        rowResults = null;
        out = null;
        options = null;
        kernel.clear();
        rowWork = null;
        scale = 0;
        weightSum = 0;
        shortRows = false;
        scratch = null;
        inUse = false;
    }
}
