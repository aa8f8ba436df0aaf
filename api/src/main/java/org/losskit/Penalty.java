package org.losskit;

/** Regularization penalties on a parameter array w, with their gradients. */
public sealed interface Penalty {

    /** The factor in front of the whole penalty. */
    double strength();

    /**
     * The L1 part of the penalty: value = strength (l1Share sum |w| + (1 - l1Share) 0.5 sum w^2), gradient
     * strength (l1Share sign(w) + (1 - l1Share) w). 1 for {@link L1}, 0 for {@link L2}, l1Ratio for {@link ElasticNet}.
     */
    default double l1Share() {
        return switch (this) {
            case L1 p -> 1;
            case L2 p -> 0;
            case ElasticNet p -> p.l1Ratio();
        };
    }

    /** {@code strength * sum |w|}; gradient {@code strength * sign(w)}, 0 at w = 0. */
    record L1(double strength) implements Penalty {
        public L1 { Arguments.nonNegative("strength", strength); }
    }

    /** {@code strength * 0.5 * sum w^2} (the one-half form); gradient {@code strength * w}. */
    record L2(double strength) implements Penalty {
        public L2 { Arguments.nonNegative("strength", strength); }
    }

    /** {@code strength * (l1Ratio * sum |w| + (1 - l1Ratio) * 0.5 * sum w^2)}, as scikit-learn's elastic net. */
    record ElasticNet(double strength, double l1Ratio) implements Penalty {
        public ElasticNet {
            Arguments.nonNegative("strength", strength);
            Arguments.inUnitInterval("l1Ratio", l1Ratio);
        }
    }
}
