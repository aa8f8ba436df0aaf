package org.losskit.cuda;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

import org.losskit.ElementType;
import org.losskit.Matrix;

/**
 * Plans how one call's operands reach the device. Device-resident matrices are used where they are (no copy);
 * host matrices get a region of the call's staging buffer, which has the same layout in pinned host memory and
 * in device memory: inputs are written into the pinned region and copied up, outputs are copied down into it and
 * then delivered to the caller's storage. Matrices keep their row stride on the device, so a strided input is one
 * bulk copy of the bytes it spans.
 *
 * <p>This class does no CUDA calls: {@link Transfer} does the copies, so the marshalling is testable on any machine.
 */
final class HostStaging {
    /** Region alignment: enough for 128-bit loads and for the driver's fastest copies. */
    static final long ALIGNMENT = 256;

    /** The copies between the pinned and the device staging buffers, at the same offset in both. */
    interface Transfer {
        void hostToDevice(long offset, long bytes);

        void deviceToHost(long offset, long bytes);
    }

    private record Upload(long offset, long bytes, Consumer<MemorySegment> writer) {}

    private record Download(long offset, long bytes, Consumer<MemorySegment> reader) {}

    private final DeviceMemoryCheck deviceCheck;
    private final List<Upload> uploads = new ArrayList<>();
    private final List<Download> downloads = new ArrayList<>();
    private long size;

    /** Checks that device memory belongs to the backend's device and is open; returns its address. */
    @FunctionalInterface
    interface DeviceMemoryCheck {
        long addressOf(Matrix m, String name);
    }

    HostStaging(DeviceMemoryCheck deviceCheck) {
        this.deviceCheck = deviceCheck;
    }

    /** Bytes of staging buffer the planned regions need. */
    long size() {
        return size;
    }

    /** A fresh region of {@code bytes}, aligned; returns its offset. */
    long reserve(long bytes) {
        long offset = (size + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
        size = offset + bytes;
        return offset;
    }

    // ------------------------------------------------------------------------------------------ operands

    /** A matrix the kernel reads (logits, targets, weights of any float type). */
    DeviceOperand input(Matrix m, String name) {
        if (m == null) return DeviceOperand.ABSENT;
        if (m.isOnDevice()) return deviceOperand(m, name);
        long bytes = m.extent() * m.type().byteSize();
        long offset = reserve(bytes);
        uploads.add(new Upload(offset, bytes, pinned -> MemorySegment.copy(m.hostSegment(), 0, pinned, 0, bytes)));
        return DeviceOperand.staged(offset, m.type(), m.rowStride());
    }

    /**
     * A float32 matrix the kernel writes (a gradient). A host matrix with padding between rows is first copied up
     * as it is, so that copying the spanned bytes back leaves the padding unchanged.
     */
    DeviceOperand output(Matrix m, String name) {
        if (m == null) return DeviceOperand.ABSENT;
        if (m.isOnDevice()) return deviceOperand(m, name);
        long bytes = m.extent() * m.type().byteSize();
        long offset = reserve(bytes);
        if (!m.isContiguous()) {
            uploads.add(new Upload(offset, bytes, pinned -> MemorySegment.copy(m.hostSegment(), 0, pinned, 0, bytes)));
        }
        downloads.add(new Download(offset, bytes, pinned -> MemorySegment.copy(pinned, 0, m.hostSegment(), 0, bytes)));
        return DeviceOperand.staged(offset, m.type(), m.rowStride());
    }

    /** The gradient written over {@code input} (already planned with {@link #input}): its region comes back too. */
    DeviceOperand inPlace(DeviceOperand input, Matrix m) {
        if (input.kind() == DeviceOperand.Kind.STAGED) {
            long bytes = m.extent() * m.type().byteSize();
            downloads.add(new Download(input.addressOrOffset(), bytes,
                    pinned -> MemorySegment.copy(pinned, 0, m.hostSegment(), 0, bytes)));
        }
        return input;
    }

    /** Class-index targets, int32, one per row, packed densely on the device. */
    DeviceOperand indexVector(Matrix targets, String name) {
        if (targets.isOnDevice()) return denseDeviceVector(targets, name);
        long count = targets.size();
        long offset = reserve(count * 4);
        uploads.add(new Upload(offset, count * 4, pinned -> {
            for (long i = 0; i < count; i++) pinned.setAtIndex(ValueLayout.JAVA_INT, i, targets.getInt(i));
        }));
        return DeviceOperand.staged(offset, ElementType.INT32, count);
    }

    /** Host-only float vectors of the options (class weights, pos_weight), as dense float32; absent when null. */
    DeviceOperand hostFloats(Matrix values) {
        if (values == null) return DeviceOperand.ABSENT;
        long count = values.size();
        long offset = reserve(count * 4);
        uploads.add(new Upload(offset, count * 4, pinned -> {
            for (long i = 0; i < count; i++) pinned.setAtIndex(ValueLayout.JAVA_FLOAT, i, values.getFloat(i));
        }));
        return DeviceOperand.staged(offset, ElementType.FLOAT32, count);
    }

    /**
     * An output of {@code count} values by flat index (per-row losses and diagnostics, element losses), float32
     * or int32, written densely by the kernel; absent when null.
     */
    DeviceOperand flatOutput(Matrix m, long count, String name) {
        if (m == null) return DeviceOperand.ABSENT;
        if (m.isOnDevice()) return denseDeviceVector(m, name);
        long bytes = count * 4;
        long offset = reserve(bytes);
        downloads.add(new Download(offset, bytes, pinned -> deliverFlat(pinned, m, count)));
        return DeviceOperand.staged(offset, m.type(), count);
    }

    private static void deliverFlat(MemorySegment pinned, Matrix m, long count) {
        if (m.isContiguous()) {
            MemorySegment.copy(pinned, 0, m.hostSegment(), 0, count * 4);
        } else if (m.type() == ElementType.INT32) {
            for (long i = 0; i < count; i++) m.setInt(i, pinned.getAtIndex(ValueLayout.JAVA_INT, i));
        } else {
            for (long i = 0; i < count; i++) m.setFloat(i, pinned.getAtIndex(ValueLayout.JAVA_FLOAT, i));
        }
    }

    private DeviceOperand deviceOperand(Matrix m, String name) {
        long address = deviceCheck.addressOf(m, name) + m.offset() * m.type().byteSize();
        return DeviceOperand.device(address, m.type(), m.rowStride());
    }

    /** Kernels index 1-D device data densely, so device vectors must have no gaps between their rows. */
    private DeviceOperand denseDeviceVector(Matrix m, String name) {
        if (!m.isContiguous()) {
            throw new IllegalArgumentException(name + " in device memory must be contiguous (rowStride == cols) for the cuda backend, got "
                    + m.rows() + " rows x " + m.cols() + " cols with rowStride " + m.rowStride());
        }
        return deviceOperand(m, name);
    }

    // ------------------------------------------------------------------------------------------ moving data

    /** Fills the pinned regions of the inputs and copies them up. */
    void upload(MemorySegment pinned, Transfer transfer) {
        for (Upload u : uploads) {
            u.writer().accept(pinned.asSlice(u.offset(), u.bytes()));
            transfer.hostToDevice(u.offset(), u.bytes());
        }
    }

    /** Copies the output regions down into the pinned buffer (delivered after the stream is synchronized). */
    void download(Transfer transfer) {
        for (Download d : downloads) transfer.deviceToHost(d.offset(), d.bytes());
    }

    /** Copies the outputs from the pinned buffer into the caller's storage; only once the call succeeded. */
    void deliver(MemorySegment pinned) {
        for (Download d : downloads) d.reader().accept(pinned.asSlice(d.offset(), d.bytes()));
    }
}
