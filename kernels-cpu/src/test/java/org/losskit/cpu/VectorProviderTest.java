package org.losskit.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.losskit.LossEngine;
import org.losskit.Op;

/** The provider is found through the SPI, probes the module and the width, and opens a backend that runs every op. */
class VectorProviderTest {

    @Test
    void foundThroughServiceLoaderAndAvailable() {
        LossEngine.BackendStatus cpu = LossEngine.availableBackends().stream().filter(b -> b.name().equals("cpu")).findFirst().orElseThrow();
        assertTrue(cpu.available(), cpu.detail());
        assertTrue(cpu.detail().contains(VectorShapes.vectorBits() + "-bit"), cpu.detail());
    }

    @Test
    void autoChoosesCpuOverReferenceAndSupportsEveryOp() {
        try (LossEngine engine = LossEngine.builder().backend("auto").fallbackToReference(false).build()) {
            // On a machine with CUDA the auto choice may be cuda; here only cpu and reference are on the class path.
            assertEquals("cpu", engine.backendName());
            for (Op op : Op.values()) assertEquals("cpu", engine.backendFor(op, 1_000_000), op + " runs on the cpu backend");
        }
    }

    @Test
    void widthFollowsTheTestSwitch() {
        String forced = System.getProperty(VectorShapes.WIDTH_PROPERTY);
        if (forced != null && !forced.isBlank()) assertEquals(Integer.parseInt(forced), VectorShapes.vectorBits());
        assertEquals(VectorShapes.vectorBits() / 32, VectorShapes.lanes());
    }
}
