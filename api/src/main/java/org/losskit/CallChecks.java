package org.losskit;

/**
 * The checks every engine call makes before a backend sees it: types, shapes, buffer sizes, writability,
 * overlaps between inputs and outputs, and the values of host-resident class-index targets. Messages name the
 * argument and the value. Device-resident targets cannot be read from the host; the backend that owns them
 * checks them in its kernel and throws the same kind of exception.
 */
final class CallChecks {
    private CallChecks() {}

    static Matrix floatInput(String name, Matrix m) {
        Arguments.notNull(name, m);
        if (!m.type().isFloating()) throw new IllegalArgumentException(name + " must be floating point, got " + m.type());
        accessible(name, m);
        return m;
    }

    /**
     * A memory segment behind {@code m} can be used by the calling thread now: its arena is open and, for a confined
     * arena, the calling thread owns it. Checked for every operand before a backend sees the call, so a call never
     * fails halfway through its outputs on a closed arena or a {@code WrongThreadException}. A backend runs a call on
     * confined memory on the calling thread only.
     */
    static void accessible(String name, Matrix m) {
        java.lang.foreign.MemorySegment segment = m.segment();
        if (segment == null) return;
        if (!segment.scope().isAlive()) {
            throw new IllegalArgumentException(name + " is a memory segment whose arena is already closed");
        }
        if (!segment.isAccessibleBy(Thread.currentThread())) {
            throw new IllegalArgumentException(name + " is a memory segment of a confined arena owned by another thread ("
                    + Thread.currentThread() + " is calling); call from the owner thread, or allocate it from Arena.ofShared(), "
                    + "Arena.ofAuto() or Arena.global()");
        }
    }

    static void sameShape(String name, Matrix m, String referenceName, Matrix reference) {
        if (m.rows() != reference.rows() || m.cols() != reference.cols()) {
            throw new IllegalArgumentException(name + " has shape " + m.rows() + "x" + m.cols() + " but " + referenceName
                    + " has shape " + reference.rows() + "x" + reference.cols());
        }
    }

    static void weightCount(String name, Matrix weights, int expected, String what) {
        if (weights != null && weights.size() != expected) {
            throw new IllegalArgumentException(name + " has " + weights.size() + " values but " + what + " is " + expected);
        }
    }

    /**
     * Class-index targets: int32, one per row, each in [0, classes) or equal to {@code ignoreIndex}. For host data
     * every value is checked; the message names the row and the value.
     */
    static void indexTargets(Matrix targets, int rows, int classes, boolean hasIgnoreIndex, int ignoreIndex) {
        Arguments.notNull("targets", targets);
        if (targets.type() != ElementType.INT32) throw new IllegalArgumentException("targets must be INT32, got " + targets.type());
        if (targets.size() != rows) {
            throw new IllegalArgumentException("targets has " + targets.size() + " values but there are " + rows + " rows");
        }
        if (targets.isOnDevice()) return;
        accessible("targets", targets);
        for (int r = 0; r < rows; r++) {
            int t = targets.getInt(r);
            if ((t < 0 || t >= classes) && !(hasIgnoreIndex && t == ignoreIndex)) {
                throw new IllegalArgumentException("targets[" + r + "] = " + t + " is out of range [0, " + classes + ")"
                        + (hasIgnoreIndex ? " and is not ignoreIndex (" + ignoreIndex + ")" : "") + " (row " + r + ")");
            }
        }
    }

    static void writable(String name, Matrix m, ElementType type) {
        if (m.type() != type) throw new IllegalArgumentException(name + " must be " + type + ", got " + m.type());
        if (m.isReadOnly()) throw new IllegalArgumentException(name + " is read-only");
        accessible(name, m);
    }

    /**
     * Gaussian NLL's variance has no negative value (host data; PyTorch raises too). NaN passes, as in PyTorch, and
     * values in [0, eps) are clamped to eps by the loss.
     */
    static void nonNegativeVariance(Matrix variance) {
        if (variance.isOnDevice()) return;
        int cols = variance.cols();
        for (int r = 0; r < variance.rows(); r++) {
            for (int c = 0; c < cols; c++) {
                float v = variance.getFloat(r, c);
                if (v < 0) {
                    throw new IllegalArgumentException("variance[" + ((long) r * cols + c) + "] = " + v + " is negative (row " + r
                            + ", column " + c + "); a variance must be >= 0 (PyTorch's gaussian_nll_loss raises too)");
                }
            }
        }
    }

    /** The gradient of a penalty: float32, writable, of the parameters' shape, on their side, not overlapping them. */
    static void penaltyGradient(Matrix gradient, Matrix parameters) {
        if (gradient == null) return;
        writable("gradient", gradient, ElementType.FLOAT32);
        sameShape("gradient", gradient, "parameters", parameters);
        sameSide(gradient, "gradient", parameters, "parameters");
        notOverlapping(gradient, "gradient", parameters, "parameters", false);
    }

    static void outputSize(String name, Matrix m, long needed) {
        if (m.size() < needed) {
            throw new IllegalArgumentException(name + " is too short: it holds " + m.size() + " values, " + needed + " are needed");
        }
    }

    /** The outputs a loss call can write, in a fixed order, so the checks below need no collections. */
    private static final int OUTPUT_KINDS = 7;

    private static Matrix output(LossOutputs o, int kind) {
        return switch (kind) {
            case 0 -> o.gradient();
            case 1 -> o.losses();
            case 2 -> o.logSumExp();
            case 3 -> o.maxLogit();
            case 4 -> o.argmax();
            case 5 -> o.targetProbability();
            case 6 -> o.entropy();
            default -> throw new IllegalArgumentException("output kind " + kind);
        };
    }

    private static String outputName(int kind) {
        return switch (kind) {
            case 0 -> "gradient";
            case 1 -> "losses";
            case 2 -> "logSumExp";
            case 3 -> "maxLogit";
            case 4 -> "argmax";
            case 5 -> "targetProbability";
            case 6 -> "entropy";
            default -> throw new IllegalArgumentException("output kind " + kind);
        };
    }

    /**
     * The outputs of a loss call: gradient of the input's shape (or in place over a writable float32 input), losses
     * with room for {@code lossCount} values, diagnostics (only where {@code diagnosticsAllowed}) with room for one
     * value per row, every operand on the same side (host or device), and no output overlapping an input or another
     * output. {@code second} and {@code third} are the call's other inputs (targets, weights), each possibly null.
     * Allocates nothing unless it throws: it runs on every call.
     */
    static void lossOutputs(LossOutputs outputs, Matrix input, String inputName, long lossCount, boolean diagnosticsAllowed,
                            Matrix second, String secondName, Matrix third, String thirdName) {
        Arguments.notNull("outputs", outputs);
        if (outputs.isGradientInPlace()) {
            if (input.type() != ElementType.FLOAT32) {
                throw new IllegalArgumentException("gradientInPlace needs FLOAT32 " + inputName + ", got " + input.type());
            }
            if (input.isReadOnly()) throw new IllegalArgumentException("gradientInPlace needs writable " + inputName + ", it is read-only");
        } else if (outputs.gradient() != null) {
            writable("gradient", outputs.gradient(), ElementType.FLOAT32);
            sameShape("gradient", outputs.gradient(), inputName, input);
        }
        if (outputs.losses() != null) {
            writable("losses", outputs.losses(), ElementType.FLOAT32);
            outputSize("losses", outputs.losses(), lossCount);
        }
        if (outputs.wantsDiagnostics() && !diagnosticsAllowed) {
            throw new IllegalArgumentException("diagnostics (logSumExp, maxLogit, argmax, targetProbability, entropy) are only computed by crossEntropy and crossEntropyProbs");
        }
        for (int kind = 2; kind < OUTPUT_KINDS; kind++) {
            Matrix diagnostic = output(outputs, kind);
            if (diagnostic == null) continue;
            writable(outputName(kind), diagnostic, kind == 4 ? ElementType.INT32 : ElementType.FLOAT32);
            outputSize(outputName(kind), diagnostic, input.rows());
        }

        sameSide(second, secondName, input, inputName);
        sameSide(third, thirdName, input, inputName);
        for (int kind = 0; kind < OUTPUT_KINDS; kind++) {
            Matrix out = output(outputs, kind);
            if (out == null) continue;
            String name = outputName(kind);
            sameSide(out, name, input, inputName);
            notOverlapping(out, name, input, inputName, kind == 0); // the gradient could go over the input instead
            notOverlapping(out, name, second, secondName, false);
            notOverlapping(out, name, third, thirdName, false);
            for (int later = kind + 1; later < OUTPUT_KINDS; later++) {
                notOverlapping(out, name, output(outputs, later), outputName(later), false);
            }
        }
        if (outputs.isGradientInPlace()) {
            // The gradient overwrites the input while the other inputs are still read.
            if (input.overlaps(second)) throw new IllegalArgumentException("the in-place gradient would overwrite " + secondName + ", which overlaps " + inputName);
            if (input.overlaps(third)) throw new IllegalArgumentException("the in-place gradient would overwrite " + thirdName + ", which overlaps " + inputName);
        }
    }

    /** {@code hintInPlace}: the overlap is a gradient over the input of a call that can write it in place. */
    private static void notOverlapping(Matrix out, String outName, Matrix other, String otherName, boolean hintInPlace) {
        if (other != null && out.overlaps(other)) {
            throw new IllegalArgumentException(outName + " overlaps " + otherName
                    + (hintInPlace ? "; ask for LossOutputs.gradientInPlace() to write the gradient over " + otherName : ""));
        }
    }

    /** {@code m} (if not null) lives on the same side (host or device) as {@code reference}, and is still open. */
    static void sameSide(Matrix m, String name, Matrix reference, String referenceName) {
        if (m == null) return;
        if (m.isOnDevice() != reference.isOnDevice()) {
            throw new IllegalArgumentException(name + " is " + side(m) + " but " + referenceName + " is "
                    + side(reference) + "; pass every operand of a call on the same side");
        }
        if (m.isOnDevice() && !m.device().isOpen()) {
            throw new IllegalArgumentException(name + " is device memory that was already closed");
        }
    }

    private static String side(Matrix m) {
        return m.isOnDevice() ? "in device memory" : "on the host";
    }

}
