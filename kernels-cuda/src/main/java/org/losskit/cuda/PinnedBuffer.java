package org.losskit.cuda;

import java.lang.foreign.MemorySegment;

import jcuda.Pointer;
import jcuda.driver.JCudaDriver;

/** Page-locked host memory (cuMemAllocHost) for a call's staging copies, viewed as a MemorySegment. */
final class PinnedBuffer implements AutoCloseable {
    /** A ByteBuffer view, hence a MemorySegment of it, holds at most this much. */
    static final long MAX_BYTES = Integer.MAX_VALUE;

    final Pointer pointer = new Pointer();
    final MemorySegment segment;

    PinnedBuffer(long bytes) {
        if (bytes < 1 || bytes > MAX_BYTES) throw new IllegalArgumentException("pinned buffer of " + bytes + " bytes");
        CudaException.check(JCudaDriver.cuMemAllocHost(pointer, bytes), "cuMemAllocHost(" + bytes + " bytes)");
        segment = MemorySegment.ofBuffer(pointer.getByteBuffer(0, bytes));
    }

    @Override
    public void close() {
        CudaException.check(JCudaDriver.cuMemFreeHost(pointer), "cuMemFreeHost");
    }
}
