package org.losskit.cuda;

import org.losskit.spi.EngineSettings;

/**
 * When host-resident data is worth sending to the GPU. A host call pays a fixed cost (launch, synchronisation,
 * a handful of copies: about {@link #FIXED_OVERHEAD_SECONDS}) and per element the staging copy into pinned memory
 * plus the PCIe transfers; the CPU kernel pays only per element. The GPU wins above
 * {@code fixed / (cpuPerElement - gpuPerElement)} elements, and never when its per-element cost is the larger.
 *
 * <p>The default is an estimate from typical figures, not a measurement (no GPU was available when it was set):
 * a fused cross-entropy forward+gradient of about 1.5 ns per element on a 2-core AVX-512 CPU, 8 bytes per element
 * moved (logits up, gradient down) over PCIe 4.0 x16 at about 24 GB/s effective with pinned buffers, and the same
 * 8 bytes through a host memcpy into and out of the pinned buffers at about 20 GB/s. That gives about 40k
 * elements, rounded up to a power of two. Replace it with a measurement on a GPU host
 * ({@link EngineSettings#cudaHostCrossoverElements()} overrides it per engine).
 */
final class HostCrossover {
    static final double FIXED_OVERHEAD_SECONDS = 30e-6;
    static final double CPU_SECONDS_PER_ELEMENT = 1.5e-9;
    static final double BYTES_PER_ELEMENT = 8;
    static final double PCIE_BYTES_PER_SECOND = 24e9;
    static final double HOST_COPY_BYTES_PER_SECOND = 20e9;

    static final long DEFAULT_ELEMENTS = roundUpToPowerOfTwo(estimate(FIXED_OVERHEAD_SECONDS, CPU_SECONDS_PER_ELEMENT,
            BYTES_PER_ELEMENT, PCIE_BYTES_PER_SECOND, HOST_COPY_BYTES_PER_SECOND));

    private HostCrossover() {}

    /** Elements above which the GPU is faster for host data; Long.MAX_VALUE when it never is. */
    static long estimate(double fixedSeconds, double cpuSecondsPerElement, double bytesPerElement,
                         double pcieBytesPerSecond, double hostCopyBytesPerSecond) {
        double gpuSecondsPerElement = bytesPerElement / pcieBytesPerSecond + bytesPerElement / hostCopyBytesPerSecond;
        double saving = cpuSecondsPerElement - gpuSecondsPerElement;
        if (saving <= 0) return Long.MAX_VALUE;
        return (long) Math.ceil(fixedSeconds / saving);
    }

    /** The crossover an engine uses: its setting, or the default for -1. */
    static long threshold(EngineSettings settings) {
        return settings.cudaHostCrossoverElements() < 0 ? DEFAULT_ELEMENTS : settings.cudaHostCrossoverElements();
    }

    static long roundUpToPowerOfTwo(long n) {
        if (n <= 1) return 1;
        if (n > (1L << 62)) return Long.MAX_VALUE;
        return Long.highestOneBit(n - 1) << 1;
    }
}
