package org.losskit;

/**
 * Argument checks shared by options and the engine. Every message names the argument and the offending value,
 * so a caller can fix the call from the message alone.
 */
final class Arguments {
    private Arguments() {}

    static <T> T notNull(String name, T value) {
        if (value == null) throw new NullPointerException(name + " must not be null");
        return value;
    }

    static double finite(String name, double value) {
        if (!Double.isFinite(value)) throw new IllegalArgumentException(name + " must be finite, got " + value);
        return value;
    }

    static double inUnitInterval(String name, double value) {
        if (!(value >= 0 && value <= 1)) throw new IllegalArgumentException(name + " must be in [0, 1], got " + value);
        return value;
    }

    static double nonNegative(String name, double value) {
        if (!(value >= 0) || Double.isInfinite(value)) {
            throw new IllegalArgumentException(name + " must be finite and >= 0, got " + value);
        }
        return value;
    }

    static double positive(String name, double value) {
        if (!(value > 0) || Double.isInfinite(value)) {
            throw new IllegalArgumentException(name + " must be finite and > 0, got " + value);
        }
        return value;
    }

    /** A weight vector: a read-only copy of finite values, or null when absent. */
    static Matrix weights(String name, Matrix weights) {
        if (weights == null) return null;
        if (!weights.isOnDevice()) CallChecks.accessible(name, weights);
        if (weights.size() > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(name + " has " + weights.size() + " values, more than a float[] holds");
        }
        Matrix copy = weights.readOnlyCopy();
        for (int i = 0; i < copy.size(); i++) {
            float w = copy.getFloat(i);
            if (!Float.isFinite(w)) throw new IllegalArgumentException(name + "[" + i + "] must be finite, got " + w);
        }
        return copy;
    }

    static Matrix weights(String name, float[] weights) {
        return weights == null ? null : weights(name, Matrix.vector(weights));
    }
}
