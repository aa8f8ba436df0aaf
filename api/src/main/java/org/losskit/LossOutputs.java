package org.losskit;

import java.util.Objects;

/**
 * Where a loss call writes besides its return value: caller-owned buffers, all optional. Immutable; build one
 * once and reuse it across calls, so nothing is allocated on the hot path. A call that throws leaves every one
 * of them untouched: all checks run before the first write (see {@link LossEngine}).
 *
 * <ul>
 *   <li>{@link #gradient(Matrix)}: the gradient of the returned value with respect to the input, same shape as the
 *       input, float32. It must not overlap the input unless {@link #gradientInPlace()} is asked for.</li>
 *   <li>{@link #gradientInPlace()}: write the gradient over the input (the logits), which must then be float32 and
 *       writable. The input is read before it is overwritten.</li>
 *   <li>{@link #losses(Matrix)}: the unreduced losses by flat index: one per row for row losses (cross-entropy,
 *       NLL, focal, Dice, multi-margin), one per element for element losses.</li>
 *   <li>Diagnostics, per row, from the same pass over the logits (softmax losses only): {@link #logSumExp},
 *       {@link #maxLogit}, {@link #argmax}, {@link #targetProbability}, {@link #entropy}.</li>
 * </ul>
 */
public final class LossOutputs {
    private static final LossOutputs NONE = new LossOutputs(null, false, null, null, null, null, null, null);

    private final Matrix gradient;
    private final boolean gradientInPlace;
    private final Matrix losses;
    private final Matrix logSumExp;
    private final Matrix maxLogit;
    private final Matrix argmax;
    private final Matrix targetProbability;
    private final Matrix entropy;

    private LossOutputs(Matrix gradient, boolean gradientInPlace, Matrix losses, Matrix logSumExp, Matrix maxLogit,
                        Matrix argmax, Matrix targetProbability, Matrix entropy) {
        this.gradient = gradient;
        this.gradientInPlace = gradientInPlace;
        this.losses = losses;
        this.logSumExp = logSumExp;
        this.maxLogit = maxLogit;
        this.argmax = argmax;
        this.targetProbability = targetProbability;
        this.entropy = entropy;
    }

    /** Nothing but the returned value. */
    public static LossOutputs none() {
        return NONE;
    }

    /** Only a gradient, into {@code gradient}. */
    public static LossOutputs withGradient(Matrix gradient) {
        return NONE.gradient(gradient);
    }

    public LossOutputs gradient(Matrix gradient) {
        Objects.requireNonNull(gradient, "gradient");
        return new LossOutputs(gradient, false, losses, logSumExp, maxLogit, argmax, targetProbability, entropy);
    }

    public LossOutputs gradientInPlace() {
        return new LossOutputs(null, true, losses, logSumExp, maxLogit, argmax, targetProbability, entropy);
    }

    public LossOutputs losses(Matrix losses) {
        Objects.requireNonNull(losses, "losses");
        return new LossOutputs(gradient, gradientInPlace, losses, logSumExp, maxLogit, argmax, targetProbability, entropy);
    }

    public LossOutputs logSumExp(Matrix logSumExp) {
        Objects.requireNonNull(logSumExp, "logSumExp");
        return new LossOutputs(gradient, gradientInPlace, losses, logSumExp, maxLogit, argmax, targetProbability, entropy);
    }

    public LossOutputs maxLogit(Matrix maxLogit) {
        Objects.requireNonNull(maxLogit, "maxLogit");
        return new LossOutputs(gradient, gradientInPlace, losses, logSumExp, maxLogit, argmax, targetProbability, entropy);
    }

    public LossOutputs argmax(Matrix argmax) {
        Objects.requireNonNull(argmax, "argmax");
        return new LossOutputs(gradient, gradientInPlace, losses, logSumExp, maxLogit, argmax, targetProbability, entropy);
    }

    public LossOutputs targetProbability(Matrix targetProbability) {
        Objects.requireNonNull(targetProbability, "targetProbability");
        return new LossOutputs(gradient, gradientInPlace, losses, logSumExp, maxLogit, argmax, targetProbability, entropy);
    }

    public LossOutputs entropy(Matrix entropy) {
        Objects.requireNonNull(entropy, "entropy");
        return new LossOutputs(gradient, gradientInPlace, losses, logSumExp, maxLogit, argmax, targetProbability, entropy);
    }

    /** The explicit gradient buffer, or null (also null when the gradient goes in place). */
    public Matrix gradient() { return gradient; }
    public boolean isGradientInPlace() { return gradientInPlace; }
    public Matrix losses() { return losses; }
    public Matrix logSumExp() { return logSumExp; }
    public Matrix maxLogit() { return maxLogit; }
    public Matrix argmax() { return argmax; }
    public Matrix targetProbability() { return targetProbability; }
    public Matrix entropy() { return entropy; }

    /** True when a gradient is asked for, in place or not. */
    public boolean wantsGradient() {
        return gradient != null || gradientInPlace;
    }

    /** True when any per-row diagnostic is asked for. */
    public boolean wantsDiagnostics() {
        return logSumExp != null || maxLogit != null || argmax != null || targetProbability != null || entropy != null;
    }

    /** The matrix the gradient goes into: the explicit buffer, or {@code input} when in place; null if none. */
    public Matrix gradientTarget(Matrix input) {
        return gradientInPlace ? input : gradient;
    }
}
