/**
 * losskit's CUDA backend: PTX kernels (built from src-cuda) launched through JCuda's driver API.
 * {@link org.losskit.cuda.DeviceBuffer} is the public way to keep data on the GPU across calls.
 */
module losskit.cuda {
    requires losskit.api;
    requires jcuda; // the automatic module of org.jcuda:jcuda (no Automatic-Module-Name: named after the jar)

    exports org.losskit.cuda;

    provides org.losskit.spi.BackendProvider with org.losskit.cuda.CudaProvider;
}
