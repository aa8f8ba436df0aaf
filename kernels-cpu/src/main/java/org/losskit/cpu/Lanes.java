package org.losskit.cpu;

/**
 * Sums of vector lanes in one fixed order (lane 0 first). Kernels store the accumulator with {@code intoArray} and
 * add the lanes here instead of calling {@code reduceLanes(ADD)}, whose order is unspecified: C2's intrinsic adds as a
 * tree, the Java fallback (interpreter, C1) in sequence, so a thread still warming up would get other bits than one
 * running C2 code, breaking "the same bits whatever the thread count".
 */
final class Lanes {
    private Lanes() {}

    static float sum(float[] lanes) {
        float total = 0;
        for (float v : lanes) total += v;
        return total;
    }

    /**
     * Largest lane, NaN if any lane is NaN, +0 over -0 ({@link Math#max} lane by lane, lane 0 first). Used instead of
     * {@code reduceLanes(MAX)}, which does not promise which zero a tie of -0 and +0 returns in compiled and
     * interpreted code alike.
     */
    static float max(float[] lanes) {
        float m = Float.NEGATIVE_INFINITY;
        for (float v : lanes) m = Math.max(m, v);
        return m;
    }

    /** Smallest lane, NaN if any lane is NaN, -0 under +0 ({@link Math#min} lane by lane, lane 0 first). */
    static float min(float[] lanes) {
        float m = Float.POSITIVE_INFINITY;
        for (float v : lanes) m = Math.min(m, v);
        return m;
    }

    static double sum(double[] lanes, int count) {
        double total = 0;
        for (int i = 0; i < count; i++) total += lanes[i];
        return total;
    }
}
