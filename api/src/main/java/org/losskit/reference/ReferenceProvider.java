package org.losskit.reference;

import org.losskit.spi.BackendProbe;
import org.losskit.spi.BackendProvider;
import org.losskit.spi.EngineSettings;
import org.losskit.spi.LossBackend;

/** Provides the scalar float64 reference backend: always available, lowest priority for {@code auto}. */
public final class ReferenceProvider implements BackendProvider {
    public static final String NAME = "reference";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public int autoPriority() {
        return 100;
    }

    @Override
    public BackendProbe probe() {
        return BackendProbe.available("scalar float64 oracle");
    }

    @Override
    public LossBackend open(EngineSettings settings) {
        return new ReferenceBackend();
    }
}
