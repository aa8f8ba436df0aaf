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
    public EngineSettings {
        if (parallelism < 1) throw new IllegalArgumentException("parallelism must be >= 1, got " + parallelism);
        if (cudaHostCrossoverElements < -1) {
            throw new IllegalArgumentException("cudaHostCrossoverElements must be >= 0 (or -1 for the default), got "
                    + cudaHostCrossoverElements);
        }
        if (cudaDevice < 0) throw new IllegalArgumentException("cudaDevice must be >= 0, got " + cudaDevice);
    }

    public static EngineSettings defaults() {
        return new EngineSettings(Runtime.getRuntime().availableProcessors(), -1, 0);
    }
}
