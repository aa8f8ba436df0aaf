package org.losskit;

import java.util.ArrayList;
import java.util.List;

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
        return m;
    }

    static Matrix float32Input(String name, Matrix m) {
        Arguments.notNull(name, m);
        if (m.type() != ElementType.FLOAT32) throw new IllegalArgumentException(name + " must be FLOAT32, got " + m.type());
        return m;
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
    static void indexTargets(Matrix targets, int rows, int classes, Integer ignoreIndex) {
        Arguments.notNull("targets", targets);
        if (targets.type() != ElementType.INT32) throw new IllegalArgumentException("targets must be INT32, got " + targets.type());
        if (targets.size() != rows) {
            throw new IllegalArgumentException("targets has " + targets.size() + " values but there are " + rows + " rows");
        }
        if (targets.isOnDevice()) return;
        for (int r = 0; r < rows; r++) {
            int t = targets.getInt(r);
            if ((t < 0 || t >= classes) && (ignoreIndex == null || t != ignoreIndex)) {
                throw new IllegalArgumentException("targets[" + r + "] = " + t + " is out of range [0, " + classes + ")"
                        + (ignoreIndex == null ? "" : " and is not ignoreIndex (" + ignoreIndex + ")") + " (row " + r + ")");
            }
        }
    }

    static void writable(String name, Matrix m, ElementType type) {
        if (m.type() != type) throw new IllegalArgumentException(name + " must be " + type + ", got " + m.type());
        if (m.isReadOnly()) throw new IllegalArgumentException(name + " is read-only");
    }

    static void outputSize(String name, Matrix m, long needed) {
        if (m.size() < needed) {
            throw new IllegalArgumentException(name + " is too short: it holds " + m.size() + " values, " + needed + " are needed");
        }
    }

    /**
     * The outputs of a loss call: gradient of the input's shape (or in place over a writable float32 input), losses
     * with room for {@code lossCount} values, diagnostics (only where {@code diagnosticsAllowed}) with room for one
     * value per row, and no output overlapping an input or another output.
     */
    static void lossOutputs(LossOutputs outputs, Matrix input, String inputName, long lossCount, boolean diagnosticsAllowed,
                            Matrix... otherInputs) {
        Arguments.notNull("outputs", outputs);
        List<Named> written = new ArrayList<>();
        if (outputs.isGradientInPlace()) {
            if (input.type() != ElementType.FLOAT32) {
                throw new IllegalArgumentException("gradientInPlace needs FLOAT32 " + inputName + ", got " + input.type());
            }
            if (input.isReadOnly()) throw new IllegalArgumentException("gradientInPlace needs writable " + inputName + ", it is read-only");
        } else if (outputs.gradient() != null) {
            Matrix gradient = outputs.gradient();
            writable("gradient", gradient, ElementType.FLOAT32);
            sameShape("gradient", gradient, inputName, input);
            written.add(new Named("gradient", gradient));
        }
        if (outputs.losses() != null) {
            writable("losses", outputs.losses(), ElementType.FLOAT32);
            outputSize("losses", outputs.losses(), lossCount);
            written.add(new Named("losses", outputs.losses()));
        }
        if (outputs.wantsDiagnostics() && !diagnosticsAllowed) {
            throw new IllegalArgumentException("diagnostics (logSumExp, maxLogit, argmax, targetProbability, entropy) are only computed by crossEntropy and crossEntropyProbs");
        }
        diagnostic("logSumExp", outputs.logSumExp(), ElementType.FLOAT32, input.rows(), written);
        diagnostic("maxLogit", outputs.maxLogit(), ElementType.FLOAT32, input.rows(), written);
        diagnostic("argmax", outputs.argmax(), ElementType.INT32, input.rows(), written);
        diagnostic("targetProbability", outputs.targetProbability(), ElementType.FLOAT32, input.rows(), written);
        diagnostic("entropy", outputs.entropy(), ElementType.FLOAT32, input.rows(), written);

        List<Named> read = new ArrayList<>();
        read.add(new Named(inputName, input));
        for (int i = 0; i < otherInputs.length; i++) {
            if (otherInputs[i] != null) read.add(new Named("input " + (i + 2), otherInputs[i]));
        }
        sameSide(input, inputName, written, read);
        noOverlaps(written, read, outputs.isGradientInPlace());
    }

    private static void diagnostic(String name, Matrix m, ElementType type, int rows, List<Named> written) {
        if (m == null) return;
        writable(name, m, type);
        outputSize(name, m, rows);
        written.add(new Named(name, m));
    }

    record Named(String name, Matrix matrix) {}

    /** All operands of one call live on the host, or all on one device. */
    static void sameSide(Matrix input, String inputName, List<Named> written, List<Named> read) {
        for (List<Named> group : List.of(written, read)) {
            for (Named n : group) {
                if (n.matrix().isOnDevice() != input.isOnDevice()) {
                    throw new IllegalArgumentException(n.name() + " is " + side(n.matrix()) + " but " + inputName + " is "
                            + side(input) + "; pass every operand of a call on the same side");
                }
                if (n.matrix().isOnDevice() && n.matrix().device() != null && !n.matrix().device().isOpen()) {
                    throw new IllegalArgumentException(n.name() + " is device memory that was already closed");
                }
            }
        }
    }

    private static String side(Matrix m) {
        return m.isOnDevice() ? "in device memory" : "on the host";
    }

    private static void noOverlaps(List<Named> written, List<Named> read, boolean gradientInPlace) {
        for (int i = 0; i < written.size(); i++) {
            Named out = written.get(i);
            for (Named in : read) {
                if (out.matrix().overlaps(in.matrix())) {
                    throw new IllegalArgumentException(out.name() + " overlaps " + in.name()
                            + (out.name().equals("gradient") ? "; ask for LossOutputs.gradientInPlace() to write the gradient over the input" : ""));
                }
            }
            for (int j = i + 1; j < written.size(); j++) {
                if (out.matrix().overlaps(written.get(j).matrix())) {
                    throw new IllegalArgumentException(out.name() + " overlaps " + written.get(j).name());
                }
            }
        }
        if (gradientInPlace && read.size() > 1) {
            Matrix logits = read.getFirst().matrix();
            for (Named in : read.subList(1, read.size())) {
                if (logits.overlaps(in.matrix())) {
                    throw new IllegalArgumentException("the in-place gradient would overwrite " + in.name() + ", which overlaps the input");
                }
            }
        }
    }
}
