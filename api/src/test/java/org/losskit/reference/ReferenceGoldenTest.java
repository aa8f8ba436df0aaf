package org.losskit.reference;

import org.losskit.ErrorBound;
import org.losskit.LossEngine;
import org.losskit.Op;
import org.losskit.testing.GoldenTestBase;

/** The reference backend against PyTorch's golden values, within {@link ErrorBound#REFERENCE}. */
class ReferenceGoldenTest extends GoldenTestBase {
    @Override
    protected LossEngine createEngine() {
        return LossEngine.builder().backend("reference").build();
    }

    @Override
    protected ErrorBound bound(Op op) {
        return ErrorBound.REFERENCE;
    }
}
