package org.losskit;

/**
 * PyTorch {@code kl_div(input, target)} with {@code input} = log q: element loss {@code t (log t - input)}
 * (0 where t = 0), or with {@code logTarget} {@code exp(t) (t - input)}. {@code MEAN} divides by elements,
 * {@code BATCHMEAN} by rows (the mathematically right KL per sample).
 */
public record KlDivOptions(Reduction reduction, boolean logTarget) {
    public KlDivOptions {
        Arguments.notNull("reduction", reduction);
    }
}
