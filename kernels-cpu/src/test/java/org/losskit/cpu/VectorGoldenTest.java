package org.losskit.cpu;

import org.losskit.ErrorBound;
import org.losskit.LossEngine;
import org.losskit.Op;
import org.losskit.testing.GoldenTestBase;

/** The PyTorch golden vectors through the cpu backend (no fallback), within each op's float32 bound, at the width under test. */
class VectorGoldenTest extends GoldenTestBase {
    @Override
    protected LossEngine createEngine() {
        return LossEngine.builder().backend("cpu").fallbackToReference(false).parallelism(2).build();
    }

    @Override
    protected ErrorBound bound(Op op) {
        return op.float32Bound();
    }
}
