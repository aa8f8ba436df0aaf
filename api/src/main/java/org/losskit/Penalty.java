package org.losskit;

/** Regularization penalties on a parameter array w, with their gradients. */
public sealed interface Penalty {

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
