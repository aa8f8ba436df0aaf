package org.losskit;

/**
 * Multi-class (softmax) focal loss: row loss {@code -alpha_y (1 - p_y)^gamma log p_y}. {@code mean} divides by rows.
 *
 * @param alpha per-class alpha (copied), or null for alpha = 1
 * @param gamma focusing exponent, finite and >= 0; 0 gives weighted cross-entropy
 */
public record SoftmaxFocalOptions(Reduction reduction, Matrix alpha, double gamma) {
    public SoftmaxFocalOptions {
        Arguments.notNull("reduction", reduction);
        alpha = Arguments.weights("alpha", alpha);
        Arguments.nonNegative("gamma", gamma);
    }

    public double alphaOf(int c) {
        return alpha == null ? 1.0 : alpha.getFloat(c);
    }
}
