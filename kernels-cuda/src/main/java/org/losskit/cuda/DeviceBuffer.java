package org.losskit.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Objects;

import jcuda.Pointer;
import jcuda.driver.JCudaDriver;

import org.losskit.DeviceMemory;
import org.losskit.ElementType;
import org.losskit.Matrix;
import org.losskit.spi.BackendProbe;

/**
 * GPU memory the caller owns and keeps across calls: loss calls on {@link Matrix#onDevice} views of it run on the
 * CUDA backend with no copies. Allocated in the device's primary context (shared with the backend), freed by
 * {@link #close()} (use try-with-resources); a matrix over a closed buffer is rejected before any launch.
 * Copies are synchronous. Thread-safe.
 *
 * <pre>{@code
 * try (DeviceBuffer logits = DeviceBuffer.allocate(rows * vocab * 4L)) {
 *     logits.copyFrom(hostLogits);
 *     engine.crossEntropy(Matrix.onDevice(logits, ElementType.FLOAT32, 0, rows, vocab, vocab), ...);
 * }
 * }</pre>
 */
public final class DeviceBuffer implements DeviceMemory, AutoCloseable {
    private final CudaContext context;
    private final boolean ownsContext;
    private final DevicePointer pointer;
    private final long byteSize;
    private volatile boolean open;

    private DeviceBuffer(CudaContext context, boolean ownsContext, long byteSize) {
        if (byteSize < 0) throw new IllegalArgumentException("byteSize must be >= 0, got " + byteSize);
        this.context = context;
        this.ownsContext = ownsContext;
        this.byteSize = byteSize;
        this.pointer = new DevicePointer();
        context.makeCurrent();
        // cuMemAlloc refuses 0 bytes; an empty buffer gets one byte so it still has an address.
        CudaException.check(JCudaDriver.cuMemAlloc(pointer, Math.max(byteSize, 1)), "cuMemAlloc(" + byteSize + " bytes)");
        this.open = true;
    }

    /**
     * {@code byteSize} bytes on CUDA device 0.
     *
     * @param byteSize how many bytes, at least 0
     * @return the buffer; close it to free the memory
     */
    public static DeviceBuffer allocate(long byteSize) {
        return allocate(0, byteSize);
    }

    /**
     * {@code byteSize} bytes on CUDA device {@code device}; throws IllegalStateException when CUDA cannot run here.
     *
     * @param device   the CUDA device ordinal
     * @param byteSize how many bytes, at least 0
     * @return the buffer; close it to free the memory
     */
    public static DeviceBuffer allocate(int device, long byteSize) {
        BackendProbe probe = CudaProvider.probeResult();
        if (!probe.available()) {
            throw new IllegalStateException("CUDA is not available: " + probe.detail() + "; fix: " + probe.fix(), probe.cause());
        }
        CudaContext context = CudaContext.retain(device);
        try {
            return new DeviceBuffer(context, true, byteSize);
        } catch (RuntimeException e) {
            context.release();
            throw e;
        }
    }

    /** Staging memory of a backend, in the backend's retained context. */
    static DeviceBuffer allocateIn(CudaContext context, long byteSize) {
        return new DeviceBuffer(context, false, byteSize);
    }

    @Override
    public long address() {
        return pointer.address();
    }

    @Override
    public long byteSize() {
        return byteSize;
    }

    @Override
    public String backendName() {
        return CudaProvider.NAME;
    }

    @Override
    public boolean isOpen() {
        return open;
    }

    /**
     * The CUDA device ordinal this memory lives on.
     *
     * @return the ordinal given to {@link #allocate(int, long)} (0 for {@link #allocate(long)})
     */
    public int deviceOrdinal() {
        return context.ordinal;
    }

    /**
     * A dense {@code rows x cols} view of this buffer from byte 0.
     *
     * @param type the element type
     * @param rows rows of the view
     * @param cols columns of the view, which is also the row stride
     * @return the view; it must fit in the buffer
     */
    public Matrix matrix(ElementType type, int rows, int cols) {
        return Matrix.onDevice(this, type, 0, rows, cols, cols);
    }

    // ------------------------------------------------------------------------------------------ copies

    /**
     * Copies {@code source} to the start of this buffer.
     *
     * @param source float32 values
     */
    public void copyFrom(float[] source) {
        copyIn(0, Pointer.to(source), 4L * Objects.requireNonNull(source, "source").length);
    }

    /**
     * Copies {@code source} to the start of this buffer.
     *
     * @param source int32 values (class-index targets)
     */
    public void copyFrom(int[] source) {
        copyIn(0, Pointer.to(source), 4L * Objects.requireNonNull(source, "source").length);
    }

    /**
     * Copies {@code source} to the start of this buffer.
     *
     * @param source bf16 or fp16 values
     */
    public void copyFrom(short[] source) {
        copyIn(0, Pointer.to(source), 2L * Objects.requireNonNull(source, "source").length);
    }

    /**
     * Copies all of {@code source} (at most 2 GiB; heap segments go through a native copy) to byte {@code byteOffset}.
     *
     * @param source     the bytes to copy
     * @param byteOffset where in this buffer they go
     */
    public void copyFrom(MemorySegment source, long byteOffset) {
        usableHere("source", source);
        if (source.isNative()) {
            copyIn(byteOffset, Pointer.to(source.asByteBuffer()), source.byteSize());
            return;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment nativeCopy = arena.allocate(source.byteSize(), 16).copyFrom(source);
            copyIn(byteOffset, Pointer.to(nativeCopy.asByteBuffer()), source.byteSize());
        }
    }

    /**
     * Copies the start of this buffer into all of {@code target}.
     *
     * @param target receives float32 values
     */
    public void copyTo(float[] target) {
        copyOut(0, Pointer.to(target), 4L * Objects.requireNonNull(target, "target").length);
    }

    /**
     * Copies the start of this buffer into all of {@code target}.
     *
     * @param target receives int32 values
     */
    public void copyTo(int[] target) {
        copyOut(0, Pointer.to(target), 4L * Objects.requireNonNull(target, "target").length);
    }

    /**
     * Copies the start of this buffer into all of {@code target}.
     *
     * @param target receives bf16 or fp16 values
     */
    public void copyTo(short[] target) {
        copyOut(0, Pointer.to(target), 2L * Objects.requireNonNull(target, "target").length);
    }

    /**
     * Copies {@code target.byteSize()} bytes from byte {@code byteOffset} of this buffer into {@code target}.
     *
     * @param target     receives the bytes; must be writable
     * @param byteOffset where in this buffer they start
     */
    public void copyTo(MemorySegment target, long byteOffset) {
        usableHere("target", target);
        if (target.isReadOnly()) throw new IllegalArgumentException("target is read-only");
        if (target.isNative()) {
            copyOut(byteOffset, Pointer.to(target.asByteBuffer()), target.byteSize());
            return;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment nativeCopy = arena.allocate(target.byteSize(), 16);
            copyOut(byteOffset, Pointer.to(nativeCopy.asByteBuffer()), target.byteSize());
            target.copyFrom(nativeCopy);
        }
    }

    /**
     * A native segment reaches the driver as a raw address, past the FFM checks: its arena must be open and, if
     * confined, owned by the calling thread (checked here, before any copy). Closing its arena from another thread
     * during the copy is the caller's error.
     */
    private static void usableHere(String name, MemorySegment segment) {
        Objects.requireNonNull(segment, name);
        if (!segment.scope().isAlive()) throw new IllegalArgumentException(name + " is a memory segment whose arena is already closed");
        if (!segment.isAccessibleBy(Thread.currentThread())) {
            throw new IllegalArgumentException(name + " is a memory segment of a confined arena owned by another thread; copy from the"
                    + " owner thread, or allocate it from Arena.ofShared(), Arena.ofAuto() or Arena.global()");
        }
    }

    private void copyIn(long byteOffset, Pointer host, long bytes) {
        checkRange(byteOffset, bytes);
        context.makeCurrent();
        CudaException.check(JCudaDriver.cuMemcpyHtoD(pointer.withByteOffset(byteOffset), host, bytes), "cuMemcpyHtoD(" + bytes + " bytes)");
    }

    private void copyOut(long byteOffset, Pointer host, long bytes) {
        checkRange(byteOffset, bytes);
        context.makeCurrent();
        CudaException.check(JCudaDriver.cuMemcpyDtoH(host, pointer.withByteOffset(byteOffset), bytes), "cuMemcpyDtoH(" + bytes + " bytes)");
    }

    private void checkRange(long byteOffset, long bytes) {
        if (!open) throw new IllegalStateException("this DeviceBuffer is closed");
        if (byteOffset < 0 || bytes > byteSize - byteOffset) {
            throw new IllegalArgumentException(bytes + " bytes at byte offset " + byteOffset + " do not fit in a DeviceBuffer of " + byteSize + " bytes");
        }
    }

    /** Frees the memory; idempotent. The caller makes sure no call still uses it. */
    @Override
    public synchronized void close() {
        if (!open) return;
        open = false;
        try {
            context.makeCurrent();
            CudaException.check(JCudaDriver.cuMemFree(pointer), "cuMemFree");
        } finally {
            if (ownsContext) context.release();
        }
    }

    DevicePointer pointer() {
        return pointer;
    }

    boolean belongsTo(CudaContext other) {
        return context.ordinal == other.ordinal;
    }

    @Override
    public String toString() {
        return "DeviceBuffer[" + byteSize + " bytes on cuda:" + context.ordinal + (open ? "" : ", closed") + "]";
    }
}
