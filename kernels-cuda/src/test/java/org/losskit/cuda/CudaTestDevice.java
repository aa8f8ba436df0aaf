package org.losskit.cuda;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.losskit.LossEngine;
import org.losskit.spi.BackendProbe;

/**
 * The device the GPU tests run on, probed once per test JVM. Where there is none, each GPU test is skipped
 * through {@link #assumeDevice()} with the probe's reason, so the skips are counted and say why.
 */
final class CudaTestDevice {
    static final BackendProbe PROBE = new CudaProvider().probe();

    private CudaTestDevice() {}

    static void assumeDevice() {
        assumeTrue(PROBE.available(), () -> "no CUDA device: " + PROBE.detail());
    }

    /**
     * The engine under test: the cuda backend alone (no fallback, so nothing silently runs elsewhere), or null
     * where there is no device; every test of the class then skips in {@link #assumeDevice()} before using it.
     */
    static LossEngine engineOrNull(String testClass) {
        if (!PROBE.available()) {
            System.out.println(testClass + ": every test skipped: no CUDA device: " + PROBE.detail());
            return null;
        }
        LossEngine engine = LossEngine.builder().backend("cuda").fallbackToReference(false).build();
        System.out.println(testClass + " on " + engine.backendDescription());
        return engine;
    }
}
