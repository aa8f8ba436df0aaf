package org.losskit.cuda;

import jcuda.driver.CUdeviceptr;

/** A CUdeviceptr whose numeric address can be read (JCuda keeps it protected): kernels take addresses as u64. */
final class DevicePointer extends CUdeviceptr {
    long address() {
        return getNativePointer() + getByteOffset();
    }
}
