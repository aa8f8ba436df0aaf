package org.losskit;

/**
 * PyTorch {@code multi_margin_loss}: row loss {@code sum_{i != y} w_y max(0, margin - x_y + x_i)^p / C}.
 *
 * @param p 1 or 2
 * @param classWeights per-class weights (copied) or null
 */
public record MultiMarginOptions(Reduction reduction, int p, double margin, Matrix classWeights) {
    public MultiMarginOptions {
        Arguments.notNull("reduction", reduction);
        if (p != 1 && p != 2) throw new IllegalArgumentException("p must be 1 or 2, got " + p);
        Arguments.finite("margin", margin);
        classWeights = Arguments.weights("classWeights", classWeights);
    }

    public double classWeight(int c) {
        return classWeights == null ? 1.0 : classWeights.getFloat(c);
    }
}
