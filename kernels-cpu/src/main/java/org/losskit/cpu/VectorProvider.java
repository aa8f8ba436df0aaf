package org.losskit.cpu;

import java.lang.reflect.InvocationTargetException;

import org.losskit.spi.BackendProbe;
import org.losskit.spi.BackendProvider;
import org.losskit.spi.EngineSettings;
import org.losskit.spi.LossBackend;

/**
 * Provides the Vector API backend ("cpu"). This class never links against {@code jdk.incubator.vector}: the probe
 * asks the boot layer for the module, and only then are the classes that use it loaded, by name (as Lucene's
 * {@code VectorizationProvider} does), so an application without {@code --add-modules jdk.incubator.vector} gets
 * a clear reason and falls back.
 */
public final class VectorProvider implements BackendProvider {
    public static final String NAME = "cpu";
    private static final String SHAPES_CLASS = "org.losskit.cpu.VectorShapes";
    private static final String BACKEND_CLASS = "org.losskit.cpu.VectorBackend";
    private static final int MINIMUM_VECTOR_BITS = 128;

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public int autoPriority() {
        return 200;
    }

    @Override
    public BackendProbe probe() {
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            return BackendProbe.unavailable("jdk.incubator.vector is not readable",
                    "run java with --add-modules jdk.incubator.vector", null);
        }
        try {
            int bits = (int) Class.forName(SHAPES_CLASS).getMethod("vectorBits").invoke(null);
            if (bits < MINIMUM_VECTOR_BITS) {
                return BackendProbe.unavailable("the preferred float vector is " + bits + " bits, below the "
                        + MINIMUM_VECTOR_BITS + " bits the kernels need", "run on a CPU with SSE/NEON or wider", null);
            }
            return BackendProbe.available("Vector API, " + bits + "-bit float vectors");
        } catch (ReflectiveOperationException | LinkageError e) {
            Throwable cause = e instanceof InvocationTargetException ite ? ite.getCause() : e;
            return BackendProbe.unavailable("the Vector API classes could not be initialised: " + cause,
                    "run java with --add-modules jdk.incubator.vector", cause);
        }
    }

    @Override
    public LossBackend open(EngineSettings settings) {
        try {
            return (LossBackend) Class.forName(BACKEND_CLASS).getConstructor(EngineSettings.class).newInstance(settings);
        } catch (InvocationTargetException e) {
            throw new IllegalStateException("the Vector API backend failed to open: " + e.getCause(), e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("the Vector API backend could not be loaded: " + e, e);
        }
    }
}
