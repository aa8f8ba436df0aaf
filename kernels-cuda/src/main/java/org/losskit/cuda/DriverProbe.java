package org.losskit.cuda;

import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;

import org.losskit.spi.BackendProbe;

/**
 * Asks the driver, through JCuda, whether CUDA can run here. Touching {@link JCudaDriver} loads JCuda's native
 * library, which needs libcuda.so.1: that fails with a {@link LinkageError} on a machine without the driver, which
 * {@link CudaProvider#probe()} catches. Nothing here can crash the JVM: every call is a plain driver query.
 */
final class DriverProbe {
    private DriverProbe() {}

    static BackendProbe run() {
        int init = JCudaDriver.cuInit(0);
        if (init != CUresult.CUDA_SUCCESS) {
            return ProbeDiagnosis.fromDriver(init, CUresult.stringFor(init), 0, 0, 0, "");
        }
        int[] version = new int[1];
        CudaException.check(JCudaDriver.cuDriverGetVersion(version), "cuDriverGetVersion");
        int[] count = new int[1];
        CudaException.check(JCudaDriver.cuDeviceGetCount(count), "cuDeviceGetCount");
        int capability = 0;
        String name = "";
        if (count[0] > 0) {
            CUdevice device = new CUdevice();
            CudaException.check(JCudaDriver.cuDeviceGet(device, 0), "cuDeviceGet(0)");
            capability = 10 * attribute(device, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR)
                    + attribute(device, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
            name = deviceName(device);
        }
        return ProbeDiagnosis.fromDriver(init, "", version[0], count[0], capability, name);
    }

    static int attribute(CUdevice device, int attribute) {
        int[] value = new int[1];
        CudaException.check(JCudaDriver.cuDeviceGetAttribute(value, attribute, device), "cuDeviceGetAttribute(" + attribute + ")");
        return value[0];
    }

    static String deviceName(CUdevice device) {
        byte[] name = new byte[256];
        CudaException.check(JCudaDriver.cuDeviceGetName(name, name.length, device), "cuDeviceGetName");
        int length = 0;
        while (length < name.length && name[length] != 0) length++;
        return new String(name, 0, length, java.nio.charset.StandardCharsets.US_ASCII);
    }
}
