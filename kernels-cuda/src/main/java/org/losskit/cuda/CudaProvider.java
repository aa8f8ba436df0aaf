package org.losskit.cuda;

import org.losskit.spi.BackendProbe;
import org.losskit.spi.BackendProvider;
import org.losskit.spi.EngineSettings;
import org.losskit.spi.LossBackend;

/**
 * The CUDA backend's provider: available when JCuda's native library loads (which needs libcuda), cuInit
 * succeeds, the driver supports CUDA 13 and a device of compute capability 7.5 or newer exists. This class refers
 * to no JCuda type, so it loads even when JCuda is missing; the probe reports that instead.
 */
public final class CudaProvider implements BackendProvider {
    /** The backend's name, as {@code losskit.backend=cuda} asks for it. */
    public static final String NAME = "cuda";

    /** Found by {@link java.util.ServiceLoader}; applications do not construct providers. */
    public CudaProvider() {}

    /** The probe runs once per JVM: the driver's answers do not change while it runs. */
    private static final class Probed {
        static final BackendProbe RESULT = probeNow();
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public int autoPriority() {
        return 300;
    }

    @Override
    public BackendProbe probe() {
        return Probed.RESULT;
    }

    /** The probe result, for classes of this module that need CUDA outside an engine ({@link DeviceBuffer}). */
    static BackendProbe probeResult() {
        return Probed.RESULT;
    }

    private static BackendProbe probeNow() {
        try {
            JCudaLink.readJCuda();
            return DriverProbe.run();
        } catch (LinkageError e) {
            return ProbeDiagnosis.linkageFailure(e);
        } catch (RuntimeException e) {
            return BackendProbe.unavailable("the CUDA probe failed: " + e.getMessage(), "check the NVIDIA driver installation (nvidia-smi)", e);
        }
    }

    @Override
    public LossBackend open(EngineSettings settings) {
        BackendProbe probe = probe();
        if (!probe.available()) throw new IllegalStateException("CUDA is not available: " + probe.detail(), probe.cause());
        return CudaBackend.open(settings);
    }
}
