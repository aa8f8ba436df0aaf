package org.losskit;

/**
 * Options of softmax cross-entropy, immutable and validated when built. Start from {@link #defaults()} (PyTorch's
 * defaults: mean, no weights, {@code ignore_index = -100}, no smoothing) and change what you need:
 * <pre>{@code
 * CrossEntropyOptions o = CrossEntropyOptions.defaults().labelSmoothing(0.1).ignoreIndex(-100).zLoss(1e-4);
 * }</pre>
 *
 * <ul>
 *   <li>{@code classWeights} w (length = classes): row loss scaled by the target class weight, as PyTorch.</li>
 *   <li>{@code ignoreIndex}: rows whose target equals it give loss 0 and gradient 0 and are left out of the mean.</li>
 *   <li>{@code labelSmoothing} e in [0, 1]: the target becomes (1 - e) onehot + e / C.</li>
 *   <li>{@code zLoss} lambda >= 0: adds lambda * lse^2 per (non-ignored) row, unweighted.</li>
 *   <li>{@code softcap} c >= 0: logits become c * tanh(z / c) before the softmax; 0 turns it off.</li>
 *   <li>{@code allIgnoredMeanIsZero}: PyTorch returns NaN for a mean over no rows; set this to return 0.</li>
 * </ul>
 */
public final class CrossEntropyOptions {
    public static final int DEFAULT_IGNORE_INDEX = -100;
    private static final CrossEntropyOptions DEFAULTS =
            new CrossEntropyOptions(Reduction.MEAN, null, DEFAULT_IGNORE_INDEX, 0, 0, 0, false);

    private final Reduction reduction;
    private final Matrix classWeights;
    private final int ignoreIndex;
    private final double labelSmoothing;
    private final double zLoss;
    private final double softcap;
    private final boolean allIgnoredMeanIsZero;

    private CrossEntropyOptions(Reduction reduction, Matrix classWeights, int ignoreIndex, double labelSmoothing,
                                double zLoss, double softcap, boolean allIgnoredMeanIsZero) {
        this.reduction = Arguments.notNull("reduction", reduction);
        this.classWeights = classWeights;
        this.ignoreIndex = ignoreIndex;
        this.labelSmoothing = Arguments.inUnitInterval("labelSmoothing", labelSmoothing);
        this.zLoss = Arguments.nonNegative("zLoss", zLoss);
        this.softcap = Arguments.nonNegative("softcap", softcap);
        this.allIgnoredMeanIsZero = allIgnoredMeanIsZero;
    }

    public static CrossEntropyOptions defaults() {
        return DEFAULTS;
    }

    public CrossEntropyOptions reduction(Reduction reduction) {
        return new CrossEntropyOptions(reduction, classWeights, ignoreIndex, labelSmoothing, zLoss, softcap, allIgnoredMeanIsZero);
    }

    /** Per-class weights (copied); null removes them. */
    public CrossEntropyOptions classWeights(float[] weights) {
        return new CrossEntropyOptions(reduction, Arguments.weights("classWeights", weights), ignoreIndex, labelSmoothing,
                zLoss, softcap, allIgnoredMeanIsZero);
    }

    public CrossEntropyOptions ignoreIndex(int ignoreIndex) {
        return new CrossEntropyOptions(reduction, classWeights, ignoreIndex, labelSmoothing, zLoss, softcap, allIgnoredMeanIsZero);
    }

    public CrossEntropyOptions labelSmoothing(double labelSmoothing) {
        return new CrossEntropyOptions(reduction, classWeights, ignoreIndex, labelSmoothing, zLoss, softcap, allIgnoredMeanIsZero);
    }

    public CrossEntropyOptions zLoss(double zLoss) {
        return new CrossEntropyOptions(reduction, classWeights, ignoreIndex, labelSmoothing, zLoss, softcap, allIgnoredMeanIsZero);
    }

    public CrossEntropyOptions softcap(double softcap) {
        return new CrossEntropyOptions(reduction, classWeights, ignoreIndex, labelSmoothing, zLoss, softcap, allIgnoredMeanIsZero);
    }

    public CrossEntropyOptions allIgnoredMeanIsZero(boolean zero) {
        return new CrossEntropyOptions(reduction, classWeights, ignoreIndex, labelSmoothing, zLoss, softcap, zero);
    }

    public Reduction reduction() { return reduction; }
    /** Read-only class weights, or null when every class weighs 1. */
    public Matrix classWeights() { return classWeights; }
    public int ignoreIndex() { return ignoreIndex; }
    public double labelSmoothing() { return labelSmoothing; }
    public double zLoss() { return zLoss; }
    /** The softcap c; 0 means off. */
    public double softcap() { return softcap; }
    public boolean allIgnoredMeanIsZero() { return allIgnoredMeanIsZero; }

    /** Weight of class c: 1 when there are no class weights. */
    public double classWeight(int c) {
        return classWeights == null ? 1.0 : classWeights.getFloat(c);
    }

    @Override
    public String toString() {
        return "CrossEntropyOptions[reduction=" + reduction + ", classWeights=" + (classWeights == null ? "none" : classWeights.size())
                + ", ignoreIndex=" + ignoreIndex + ", labelSmoothing=" + labelSmoothing + ", zLoss=" + zLoss
                + ", softcap=" + softcap + ", allIgnoredMeanIsZero=" + allIgnoredMeanIsZero + "]";
    }
}
