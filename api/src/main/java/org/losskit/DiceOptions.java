package org.losskit;

/**
 * Soft Dice from logits, per row: {@code 1 - (2 sum(s t) + smooth) / (sum(s) + sum(t) + smooth)}, s = sigmoid(x).
 * {@code mean} divides by rows.
 */
public record DiceOptions(Reduction reduction, double smooth) {
    public DiceOptions {
        Arguments.notNull("reduction", reduction);
        Arguments.nonNegative("smooth", smooth);
    }
}
