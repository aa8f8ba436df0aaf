package org.losskit;

/**
 * Losses computed element by element from {@code input} and {@code target} of the same shape, with an optional
 * per-element weight; {@code MEAN} divides by the number of elements. Each record is immutable and validated;
 * backends switch over this sealed family, so a new loss cannot be forgotten by one of them.
 * Formulas follow PyTorch; d = input - target.
 */
public sealed interface PointwiseLoss {

    Reduction reduction();

    /** The catalogue entry, which carries this loss's error bound. */
    Op op();

    /** {@code d^2}; gradient {@code 2 d}. */
    record Mse(Reduction reduction) implements PointwiseLoss {
        public Mse { Arguments.notNull("reduction", reduction); }
        public Op op() { return Op.MSE; }
    }

    /** {@code |d|}; gradient {@code sign(d)}, 0 at d = 0. */
    record L1(Reduction reduction) implements PointwiseLoss {
        public L1 { Arguments.notNull("reduction", reduction); }
        public Op op() { return Op.L1; }
    }

    /** {@code 0.5 d^2 / beta} for {@code |d| < beta}, else {@code |d| - 0.5 beta}; beta = 0 is L1. */
    record SmoothL1(Reduction reduction, double beta) implements PointwiseLoss {
        public SmoothL1 { Arguments.notNull("reduction", reduction); Arguments.nonNegative("beta", beta); }
        public Op op() { return Op.SMOOTH_L1; }
    }

    /** {@code 0.5 d^2} for {@code |d| < delta}, else {@code delta (|d| - 0.5 delta)}. */
    record Huber(Reduction reduction, double delta) implements PointwiseLoss {
        public Huber { Arguments.notNull("reduction", reduction); Arguments.positive("delta", delta); }
        public Op op() { return Op.HUBER; }
    }

    /** {@code log cosh d}; gradient {@code tanh d}. */
    record LogCosh(Reduction reduction) implements PointwiseLoss {
        public LogCosh { Arguments.notNull("reduction", reduction); }
        public Op op() { return Op.LOG_COSH; }
    }

    /** Pinball loss {@code max(tau (t - x), (tau - 1)(t - x))}, tau in [0, 1]. */
    record Quantile(Reduction reduction, double tau) implements PointwiseLoss {
        public Quantile { Arguments.notNull("reduction", reduction); Arguments.inUnitInterval("tau", tau); }
        public Op op() { return Op.QUANTILE; }
    }

    /** {@code max(0, 1 - t x)} with labels t in {-1, +1}. */
    record Hinge(Reduction reduction) implements PointwiseLoss {
        public Hinge { Arguments.notNull("reduction", reduction); }
        public Op op() { return Op.HINGE; }
    }

    /** {@code max(0, 1 - t x)^2} with labels t in {-1, +1}. */
    record SquaredHinge(Reduction reduction) implements PointwiseLoss {
        public SquaredHinge { Arguments.notNull("reduction", reduction); }
        public Op op() { return Op.SQUARED_HINGE; }
    }

    /**
     * PyTorch {@code poisson_nll_loss}: {@code exp(x) - t x} when {@code logInput}, else {@code x - t log(x + eps)};
     * with {@code full}, the Stirling term {@code t log t - t + 0.5 log(2 pi t)} is added where t > 1.
     */
    record PoissonNll(Reduction reduction, boolean logInput, boolean full, double eps) implements PointwiseLoss {
        public static final double DEFAULT_EPS = 1e-8;
        public PoissonNll { Arguments.notNull("reduction", reduction); Arguments.positive("eps", eps); }
        public Op op() { return Op.POISSON_NLL; }
    }

    /**
     * BCE with logits: {@code w [(1 - t) x + (1 + (pw - 1) t) softplus(-x)]}; soft targets allowed.
     *
     * @param posWeight per-class (last dimension) positive weight pw, copied; null for 1
     */
    record BceWithLogits(Reduction reduction, Matrix posWeight) implements PointwiseLoss {
        public BceWithLogits {
            Arguments.notNull("reduction", reduction);
            posWeight = Arguments.weights("posWeight", posWeight);
        }
        public BceWithLogits(Reduction reduction) { this(reduction, null); }
        public Op op() { return Op.BCE_WITH_LOGITS; }
        public double posWeightOf(int col) { return posWeight == null ? 1.0 : posWeight.getFloat(col); }
    }

    /**
     * torchvision {@code sigmoid_focal_loss}: {@code ce (1 - p_t)^gamma alpha_t}, alpha_t = alpha t + (1 - alpha)(1 - t);
     * a negative alpha turns the alpha factor off.
     */
    record SigmoidFocal(Reduction reduction, double alpha, double gamma) implements PointwiseLoss {
        public SigmoidFocal {
            Arguments.notNull("reduction", reduction);
            Arguments.finite("alpha", alpha);
            if (alpha > 1) throw new IllegalArgumentException("alpha must be <= 1 (negative turns it off), got " + alpha);
            Arguments.nonNegative("gamma", gamma);
        }
        public Op op() { return Op.SIGMOID_FOCAL; }
    }
}
