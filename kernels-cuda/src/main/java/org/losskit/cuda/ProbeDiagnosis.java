package org.losskit.cuda;

import org.losskit.spi.BackendProbe;

/**
 * Turns what the probe found (a linkage error, or the driver's answers) into a {@link BackendProbe} with the
 * reason and the fix. No CUDA calls here, so every branch is unit tested.
 */
final class ProbeDiagnosis {
    /** CUresult codes the probe tells apart (cuda.h). */
    static final int CUDA_ERROR_NO_DEVICE = 100;
    static final int CUDA_ERROR_INSUFFICIENT_DRIVER = 35;
    static final int MIN_COMPUTE_CAPABILITY = 75; // 7.5: the lowest CUDA 13 supports, the PTX's .target sm_75

    static final String DRIVER_FIX = "install the NVIDIA driver R580 or newer (CUDA 13); losskit loads its kernels as CUDA 13 PTX";

    private ProbeDiagnosis() {}

    /** The JCuda classes or their native library could not be loaded. */
    static BackendProbe linkageFailure(Throwable error) {
        String chain = messages(error);
        if (chain.contains("libcuda")) {
            return BackendProbe.unavailable("libcuda.so.1 (the NVIDIA driver) was not found: " + lineWith(chain, "libcuda"), DRIVER_FIX, error);
        }
        if (error instanceof NoClassDefFoundError && chain.contains("jcuda/")) {
            return BackendProbe.unavailable("the JCuda classes are missing: " + firstLine(chain),
                    "put org.jcuda:jcuda:12.6.0 on the class path (losskit-kernels-cuda depends on it)", error);
        }
        String platform = System.getProperty("os.name") + "/" + System.getProperty("os.arch");
        return BackendProbe.unavailable("JCuda's native library could not be loaded on " + platform + ": " + firstLine(chain),
                "put org.jcuda:jcuda-natives:12.6.0 with the classifier of this platform (for example linux-x86_64) on the class path",
                error);
    }

    /** What the driver said: cuInit's result, then version, device count and the first device's capability. */
    static BackendProbe fromDriver(int initResult, String initError, int driverVersion, int deviceCount,
                                   int computeCapability, String deviceName) {
        if (initResult == CUDA_ERROR_NO_DEVICE) return noDevice("cuInit reported no CUDA device (" + initError + ")");
        if (initResult == CUDA_ERROR_INSUFFICIENT_DRIVER) {
            return BackendProbe.unavailable("the NVIDIA driver is too old for this CUDA runtime (cuInit: " + initError + ")", DRIVER_FIX, null);
        }
        if (initResult != 0) {
            return BackendProbe.unavailable("cuInit failed: " + initError, "check the NVIDIA driver installation (nvidia-smi)", null);
        }
        if (driverVersion < PtxModule.REQUIRED_DRIVER_VERSION) {
            return BackendProbe.unavailable("the NVIDIA driver supports CUDA " + cudaVersion(driverVersion)
                    + " but losskit's kernels are PTX ISA 9.0, which needs CUDA " + cudaVersion(PtxModule.REQUIRED_DRIVER_VERSION),
                    DRIVER_FIX, null);
        }
        if (deviceCount <= 0) return noDevice("the driver found no CUDA device");
        if (computeCapability < MIN_COMPUTE_CAPABILITY) {
            return BackendProbe.unavailable("CUDA device 0 (" + deviceName + ") has compute capability "
                    + computeCapability / 10 + "." + computeCapability % 10 + "; losskit's PTX needs 7.5 or newer",
                    "use a Turing (sm_75) or newer GPU, or another backend", null);
        }
        return BackendProbe.available("CUDA " + cudaVersion(driverVersion) + " driver, " + deviceCount + " device"
                + (deviceCount == 1 ? "" : "s") + ", device 0: " + deviceName + " (sm_" + computeCapability + ")");
    }

    private static BackendProbe noDevice(String detail) {
        return BackendProbe.unavailable(detail, "run on a machine with an NVIDIA GPU (check nvidia-smi and CUDA_VISIBLE_DEVICES)", null);
    }

    /** cuDriverGetVersion's 1000 major + 10 minor as "major.minor". */
    static String cudaVersion(int driverVersion) {
        return driverVersion / 1000 + "." + (driverVersion % 1000) / 10;
    }

    private static String messages(Throwable error) {
        StringBuilder all = new StringBuilder();
        for (Throwable t = error; t != null; t = t.getCause()) {
            if (!all.isEmpty()) all.append(" <- ");
            all.append(t.getClass().getSimpleName()).append(": ").append(t.getMessage());
        }
        return all.toString();
    }

    /** The first line of {@code s} that mentions {@code word}, trimmed. */
    private static String lineWith(String s, String word) {
        return shorten(s.lines().filter(l -> l.contains(word)).findFirst().orElse(s).strip());
    }

    private static String shorten(String line) {
        return line.length() > 400 ? line.substring(0, 400) + "..." : line;
    }

    private static String firstLine(String s) {
        return shorten(s.lines().findFirst().orElse(s).strip());
    }
}
