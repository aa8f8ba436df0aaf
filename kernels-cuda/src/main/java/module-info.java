/**
 * losskit's CUDA backend: PTX kernels (built from src-cuda) launched through JCuda's driver API.
 * {@link org.losskit.cuda.DeviceBuffer} is the public way to keep data on the GPU across calls.
 *
 * <p>JCuda is deliberately not {@code requires}d. Its jars carry no {@code Automatic-Module-Name}, so its module
 * name would be derived from the jar's file name, which is not stable (Maven warns against publishing a module
 * that requires such a name). Instead the provider gives this module a read edge to whatever module JCuda was
 * loaded into at run time ({@code JCudaLink}): the unnamed module when JCuda is on the class path (the usual
 * way, also on the module path: {@code --enable-native-access=ALL-UNNAMED}), or the automatic module
 * {@code jcuda} when it is on the module path ({@code --add-modules jcuda --enable-native-access=jcuda}).
 * No JCuda type appears in this module's public API.
 */
module losskit.cuda {
    requires transitive losskit.api; // DeviceBuffer's API speaks in Matrix, ElementType and DeviceMemory

    exports org.losskit.cuda;

    provides org.losskit.spi.BackendProvider with org.losskit.cuda.CudaProvider;
}
