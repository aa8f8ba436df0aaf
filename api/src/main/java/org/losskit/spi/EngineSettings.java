package org.losskit.spi;

/**
 * Settings an engine passes to the backends it opens.
 *
 * @param parallelism             worker threads a CPU backend may use for one call (>= 1)
 * @param cudaHostCrossoverElements host-resident calls smaller than this many input elements stay on the CPU;
 *                                -1 lets the CUDA backend use its measured default
 * @param cudaDevice              CUDA device ordinal
 */
public record EngineSettings(int parallelism, long cudaHostCrossoverElements, int cudaDevice) {
    /**
     * The most threads a CPU backend may use per available processor: more only adds hand-offs and stacks (a
     * call's chunks are sized for 2-16 threads), and a parallelism of thousands is a mistake worth a message.
     */
    public static final int MAX_THREADS_PER_PROCESSOR = 4;
    /** Parallelism allowed on any machine, however few processors it reports (a container may report one). */
    public static final int MAX_PARALLELISM_FLOOR = 16;

    public EngineSettings {
        checkParallelism(parallelism);
        if (cudaHostCrossoverElements < -1) {
            throw new IllegalArgumentException("cudaHostCrossoverElements must be >= 0 (or -1 for the default), got "
                    + cudaHostCrossoverElements);
        }
        if (cudaDevice < 0) throw new IllegalArgumentException("cudaDevice must be >= 0, got " + cudaDevice);
    }

    /** The largest parallelism allowed here: {@value #MAX_THREADS_PER_PROCESSOR} x available processors, at least {@value #MAX_PARALLELISM_FLOOR}. */
    public static int maxParallelism() {
        return Math.max(MAX_PARALLELISM_FLOOR, MAX_THREADS_PER_PROCESSOR * Runtime.getRuntime().availableProcessors());
    }

    /** {@code parallelism} if it is in [1, {@link #maxParallelism()}], else an exception that names it and the limit. */
    public static int checkParallelism(int parallelism) {
        if (parallelism < 1) throw new IllegalArgumentException("parallelism must be >= 1, got " + parallelism);
        int limit = maxParallelism();
        if (parallelism > limit) {
            throw new IllegalArgumentException("parallelism must be <= " + limit + " (" + MAX_THREADS_PER_PROCESSOR + " x the "
                    + Runtime.getRuntime().availableProcessors() + " available processors, at least " + MAX_PARALLELISM_FLOOR
                    + "), got " + parallelism);
        }
        return parallelism;
    }

    public static EngineSettings defaults() {
        return new EngineSettings(Runtime.getRuntime().availableProcessors(), -1, 0);
    }
}
