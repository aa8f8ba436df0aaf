package org.losskit.bench.tour;

/**
 * Steele, Lea and Flood's SplitMix64: the tour's only source of randomness (the splits and the initial weights), small
 * enough to write identically in the PyTorch script ({@code bench/src/test/python/tour_torch.py}), so both sides draw
 * the same numbers from the same seed.
 */
final class SplitMix64 {
    private long state;

    SplitMix64(long seed) {
        this.state = seed;
    }

    long next() {
        state += 0x9E3779B97F4A7C15L;
        long z = state;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** next() mod bound, unsigned (Python's {@code next() % bound}). */
    int below(int bound) {
        return (int) Long.remainderUnsigned(next(), bound);
    }

    /** k / 2^24 for 24 random bits k: a float in [0, 1) that float32 holds exactly. */
    double uniform24() {
        return (next() >>> 40) / 16777216.0;
    }

    /** 0..n-1 shuffled by Fisher-Yates from the last position down. */
    static int[] shuffled(int n, long seed) {
        SplitMix64 rng = new SplitMix64(seed);
        int[] order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        for (int i = n - 1; i > 0; i--) {
            int j = rng.below(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return order;
    }
}
