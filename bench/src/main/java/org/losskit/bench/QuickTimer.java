package org.losskit.bench;

import java.util.ArrayList;
import java.util.List;

import org.apache.commons.math3.stat.descriptive.rank.Median;

/**
 * The report's quick timing, not a benchmark harness: warm up for a while, then take several samples, each a batch
 * of calls long enough for the clock, and keep the median time per call. Published figures come from JMH
 * ({@code bench/run --jmh}); this is for seeing the shape of the curves and the crossover at a glance.
 *
 * @param warmupNanos   how long to call before measuring (at least {@link #MIN_WARMUP_CALLS} calls)
 * @param samples       how many samples to take; the median is reported
 * @param minSampleNanos a sample calls the kernel until at least this long has passed
 * @param kernelWarmupNanos before its first size, each backend runs every workload on a small input for this long
 *                       in all, so that the JIT has compiled the kernels (vector code is slow until C2 has it)
 */
record QuickTimer(long warmupNanos, int samples, long minSampleNanos, long kernelWarmupNanos) {
    static final int MIN_WARMUP_CALLS = 3;

    /** How the report labels its figures, so nobody quotes them as benchmark results. */
    static final String DESCRIPTION = "quick timing, not JMH: warm-up, then the median of several samples per size; "
            + "quote figures from the JMH benchmarks (bench/run --jmh), see docs/BENCHMARKS.md";

    /**
     * --quick: 250 ms of warm-up per point. Less (60 ms was tried) ends before C2 has compiled the first kernel of a
     * workload, and that size then reports interpreter speed (BCE at 65K elements came out 80x slow).
     */
    static QuickTimer quick() {
        return new QuickTimer(250_000_000L, 5, 5_000_000L, 600_000_000L);
    }

    static QuickTimer standard() {
        return new QuickTimer(400_000_000L, 9, 25_000_000L, 2_000_000_000L);
    }

    /** Seconds per call: the median and every sample. */
    record Timing(double medianSeconds, List<Double> sampleSeconds) {}

    /** Times {@code call}; the sum of results is folded into {@link #sink} so that no call can be optimised away. */
    Timing measure(PreparedCall call) {
        long start = System.nanoTime();
        for (int i = 0; i < MIN_WARMUP_CALLS || System.nanoTime() - start < warmupNanos; i++) {
            consume(call.call());
        }
        List<Double> perCall = new ArrayList<>(samples);
        for (int s = 0; s < samples; s++) {
            long sampleStart = System.nanoTime();
            long calls = 0;
            long elapsed;
            do {
                consume(call.call());
                calls++;
                elapsed = System.nanoTime() - sampleStart;
            } while (elapsed < minSampleNanos);
            perCall.add(elapsed / 1e9 / calls);
        }
        return new Timing(new Median().evaluate(perCall.stream().mapToDouble(Double::doubleValue).toArray()), List.copyOf(perCall));
    }

    /** Calls {@code call} for {@code nanos}, results consumed: the JIT warm-up before any size is measured. */
    static void run(PreparedCall call, long nanos) {
        long start = System.nanoTime();
        do {
            consume(call.call());
        } while (System.nanoTime() - start < nanos);
    }

    /** Receives every result; read by nobody, but the JIT cannot know that. */
    static volatile double sink;

    private static void consume(double value) {
        sink += value;
    }
}
