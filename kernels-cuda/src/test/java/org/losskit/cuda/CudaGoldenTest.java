package org.losskit.cuda;

import java.util.Set;

import org.junit.jupiter.api.BeforeEach;

import org.losskit.ErrorBound;
import org.losskit.LossEngine;
import org.losskit.Op;
import org.losskit.testing.GoldenTestBase;

/** The PyTorch golden vectors through the cuda backend, within each op's float32 bound; ops without kernels skip. */
class CudaGoldenTest extends GoldenTestBase {
    @Override
    protected LossEngine createEngine() {
        return CudaTestDevice.engineOrNull("CudaGoldenTest");
    }

    @BeforeEach
    void requireDevice() {
        CudaTestDevice.assumeDevice();
    }

    @Override
    protected ErrorBound bound(Op op) {
        return op.float32Bound();
    }

    @Override
    protected Set<Op> opsUnderTest() {
        return CudaBackend.SUPPORTED;
    }
}
