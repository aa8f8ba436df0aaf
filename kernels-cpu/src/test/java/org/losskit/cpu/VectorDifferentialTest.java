package org.losskit.cpu;

import org.losskit.LossEngine;
import org.losskit.testing.DifferentialTestBase;

/**
 * The shared differential base through the cpu backend (no fallback), with the widths chosen around the lane
 * count of the species under test, so each Surefire execution (512, 256, 128 bits) hits its own loop tails.
 */
class VectorDifferentialTest extends DifferentialTestBase {
    @Override
    protected LossEngine engineUnderTest() {
        return LossEngine.builder().backend("cpu").fallbackToReference(false).parallelism(2).build();
    }

    @Override
    protected int lanes() {
        return VectorShapes.lanes();
    }
}
