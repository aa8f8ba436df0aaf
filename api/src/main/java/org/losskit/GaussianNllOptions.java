package org.losskit;

/**
 * PyTorch {@code gaussian_nll_loss}: element loss {@code 0.5 (log v + (x - t)^2 / v)} with v = max(var, eps),
 * plus {@code 0.5 log(2 pi)} when {@code full}. The gradient is taken with respect to the input only.
 */
public record GaussianNllOptions(Reduction reduction, boolean full, double eps) {
    public static final double DEFAULT_EPS = 1e-6;

    public GaussianNllOptions {
        Arguments.notNull("reduction", reduction);
        Arguments.positive("eps", eps);
    }
}
