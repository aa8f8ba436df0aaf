package org.losskit.cuda;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The status block at the start of each call's scratch buffer, mirroring {@code struct CallStatus} of
 * cross_entropy.cuh (32 bytes, a static_assert there), followed by the per-block partials.
 *
 * @param badTarget       (row << 32) | (value as unsigned int) of the first invalid class-index target; -1 (all ones) when none
 * @param targetWeightSum sum of w_y over rows not ignored
 * @param counted         rows not ignored
 */
record CallStatus(long badTarget, double targetWeightSum, double counted) {
    static final long BYTES = 32;
    static final long NO_BAD_TARGET = -1L;

    static CallStatus read(MemorySegment status) {
        return new CallStatus(status.get(ValueLayout.JAVA_LONG, 0), status.get(ValueLayout.JAVA_DOUBLE, 8),
                status.get(ValueLayout.JAVA_DOUBLE, 16));
    }

    /**
     * Throws the exception CallChecks throws for a bad host target, naming the row and value, if the kernel found
     * one; {@code ignoreIndex} is null for losses without one (softmax focal).
     */
    void throwIfBadTarget(int classes, Integer ignoreIndex) {
        if (badTarget == NO_BAD_TARGET) return;
        int row = (int) (badTarget >>> 32);
        int value = (int) badTarget;
        throw new IllegalArgumentException("targets[" + row + "] = " + value + " is out of range [0, " + classes + ")"
                + (ignoreIndex == null ? "" : " and is not ignoreIndex (" + ignoreIndex + ")") + " (row " + row + ", found on the device)");
    }
}
