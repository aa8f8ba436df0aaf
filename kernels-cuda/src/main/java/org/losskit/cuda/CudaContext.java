package org.losskit.cuda;

import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.JCudaDriver;

/**
 * The primary context of one device: the driver keeps one per device and per process, shared by every holder
 * (backends, {@link DeviceBuffer}s, other CUDA libraries in the JVM), so memory allocated by one is usable by the
 * others. Each holder retains it and releases it once; calling threads make it current before any driver call.
 */
final class CudaContext {
    final int ordinal;
    final CUdevice device;
    final CUcontext context;
    final String name;
    final int multiprocessors;
    final int computeCapability;

    private CudaContext(int ordinal, CUdevice device, CUcontext context, String name, int multiprocessors, int computeCapability) {
        this.ordinal = ordinal;
        this.device = device;
        this.context = context;
        this.name = name;
        this.multiprocessors = multiprocessors;
        this.computeCapability = computeCapability;
    }

    /** Retains device {@code ordinal}'s primary context; release it with {@link #release()}. */
    static CudaContext retain(int ordinal) {
        CudaException.check(JCudaDriver.cuInit(0), "cuInit");
        int[] count = new int[1];
        CudaException.check(JCudaDriver.cuDeviceGetCount(count), "cuDeviceGetCount");
        if (ordinal >= count[0]) {
            throw new IllegalArgumentException("cudaDevice " + ordinal + " does not exist: this machine has " + count[0] + " CUDA device(s)");
        }
        CUdevice device = new CUdevice();
        CudaException.check(JCudaDriver.cuDeviceGet(device, ordinal), "cuDeviceGet(" + ordinal + ")");
        CUcontext context = new CUcontext();
        CudaException.check(JCudaDriver.cuDevicePrimaryCtxRetain(context, device), "cuDevicePrimaryCtxRetain(" + ordinal + ")");
        try {
            int capability = 10 * DriverProbe.attribute(device, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR)
                    + DriverProbe.attribute(device, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
            int multiprocessors = DriverProbe.attribute(device, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
            return new CudaContext(ordinal, device, context, DriverProbe.deviceName(device), multiprocessors, capability);
        } catch (RuntimeException e) {
            JCudaDriver.cuDevicePrimaryCtxRelease(device);
            throw e;
        }
    }

    /** Makes this context current on the calling thread (cheap when it already is). */
    void makeCurrent() {
        CudaException.check(JCudaDriver.cuCtxSetCurrent(context), "cuCtxSetCurrent(device " + ordinal + ")");
    }

    void release() {
        CudaException.check(JCudaDriver.cuDevicePrimaryCtxRelease(device), "cuDevicePrimaryCtxRelease(" + ordinal + ")");
    }
}
