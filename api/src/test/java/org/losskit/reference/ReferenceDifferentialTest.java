package org.losskit.reference;

import org.losskit.LossEngine;
import org.losskit.testing.DifferentialTestBase;

/**
 * The differential harness run on the reference against itself: it must pass trivially, which proves that the
 * harness runs every op at every size and that its comparisons accept identical results.
 */
class ReferenceDifferentialTest extends DifferentialTestBase {
    @Override
    protected LossEngine engineUnderTest() {
        return LossEngine.builder().backend("reference").fallbackToReference(false).build();
    }
}
