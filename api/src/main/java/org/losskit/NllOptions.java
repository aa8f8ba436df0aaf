package org.losskit;

/**
 * Negative log-likelihood on log-probabilities: row loss {@code -w_y * logp_y}; ignored rows give 0 and are left
 * out of the mean, which divides by the sum of the target-class weights (PyTorch {@code nll_loss}).
 *
 * @param classWeights read-only per-class weights or null (copied on construction)
 */
public record NllOptions(Reduction reduction, Matrix classWeights, int ignoreIndex, boolean allIgnoredMeanIsZero) {
    public NllOptions {
        Arguments.notNull("reduction", reduction);
        classWeights = Arguments.weights("classWeights", classWeights);
    }

    /** PyTorch's defaults: mean, no weights, ignore_index -100. */
    public static NllOptions of(Reduction reduction) {
        return new NllOptions(reduction, null, CrossEntropyOptions.DEFAULT_IGNORE_INDEX, false);
    }

    public double classWeight(int c) {
        return classWeights == null ? 1.0 : classWeights.getFloat(c);
    }
}
