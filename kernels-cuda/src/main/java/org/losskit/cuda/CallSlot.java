package org.losskit.cuda;

import java.lang.foreign.MemorySegment;

import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUstream;
import jcuda.driver.CUstream_flags;
import jcuda.driver.JCudaDriver;

/**
 * What one call in flight needs: a stream, and a staging buffer in device memory with a pinned host mirror of the
 * same size (regions at equal offsets). Slots are pooled by the backend and grow to the largest call they served.
 */
final class CallSlot implements AutoCloseable, HostStaging.Transfer {
    private static final long MIN_BYTES = 1 << 20;

    private final CudaContext context;
    final CUstream stream = new CUstream();
    private DeviceBuffer device;
    private PinnedBuffer pinned;

    CallSlot(CudaContext context) {
        this.context = context;
        // A blocking stream (not CU_STREAM_NON_BLOCKING): it waits for work on the legacy default stream, where
        // DeviceBuffer's synchronous copies run; a copy from pageable memory may still be in flight when it returns.
        CudaException.check(JCudaDriver.cuStreamCreate(stream, CUstream_flags.CU_STREAM_DEFAULT), "cuStreamCreate");
    }

    /** Makes the staging buffers at least {@code bytes} long (contents are not kept). */
    void ensure(long bytes) {
        if (device != null && device.byteSize() >= bytes) return;
        long capacity = Math.min(PinnedBuffer.MAX_BYTES, Math.max(bytes, Math.max(MIN_BYTES, device == null ? 0 : 2 * device.byteSize())));
        freeBuffers();
        device = DeviceBuffer.allocateIn(context, capacity);
        pinned = new PinnedBuffer(capacity);
    }

    long deviceBase() {
        return device.address();
    }

    MemorySegment pinned() {
        return pinned.segment;
    }

    @Override
    public void hostToDevice(long offset, long bytes) {
        if (bytes == 0) return;
        CudaException.check(JCudaDriver.cuMemcpyHtoDAsync(deviceAt(offset), pinned.pointer.withByteOffset(offset), bytes, stream), "cuMemcpyHtoDAsync(" + bytes + " bytes)");
    }

    @Override
    public void deviceToHost(long offset, long bytes) {
        if (bytes == 0) return;
        CudaException.check(JCudaDriver.cuMemcpyDtoHAsync(pinned.pointer.withByteOffset(offset), deviceAt(offset), bytes, stream),
                "cuMemcpyDtoHAsync(" + bytes + " bytes)");
    }

    private CUdeviceptr deviceAt(long offset) {
        return device.pointer().withByteOffset(offset);
    }

    void synchronize() {
        CudaException.check(JCudaDriver.cuStreamSynchronize(stream), "cuStreamSynchronize (errors of earlier launches show here)");
    }

    private void freeBuffers() {
        try {
            if (device != null) device.close();
        } finally {
            device = null;
            if (pinned != null) {
                PinnedBuffer p = pinned;
                pinned = null;
                p.close();
            }
        }
    }

    @Override
    public void close() {
        try {
            freeBuffers();
        } finally {
            CudaException.check(JCudaDriver.cuStreamDestroy(stream), "cuStreamDestroy");
        }
    }
}
