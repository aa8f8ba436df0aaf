package org.losskit.cuda;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

import jcuda.driver.JCudaDriver;

import org.losskit.ElementType;
import org.losskit.Matrix;

/**
 * One backend call from planning to results: the operands' staging plan, the scratch region (status and
 * partials, plus the split-row states), the launches on the slot's stream, and the read-back. Used as
 * try-with-resources; close returns the slot to the pool.
 *
 * <p>Order: plan operands and {@link #scratch}, then {@link #start} (allocate, copy inputs up), launches,
 * {@link #finish} (copy outputs and status down, synchronize), check the status, then {@link #deliver} the
 * outputs to the caller's host storage. A call that fails its status check delivers nothing.
 */
final class Call implements AutoCloseable {
    private final CudaBackend backend;
    private final CallSlot slot;
    final HostStaging staging;
    private long scratchOffset = -1;
    private long splitOffset;
    private int partialCount;
    private final List<WeightCache.Lease> leases = new ArrayList<>();
    private boolean finished;

    Call(CudaBackend backend, CallSlot slot) {
        this.backend = backend;
        this.slot = slot;
        this.staging = new HostStaging(backend::deviceAddressOf);
    }

    /**
     * A host weight vector of the options (class weights, alpha, pos_weight) as dense float32 on the device, absent
     * when null. Device-resident calls take the backend's cached copy (leased until this call is closed); host
     * calls copy it up with their other operands.
     */
    DeviceOperand weights(Matrix values, boolean deviceResident) {
        if (values == null) return DeviceOperand.ABSENT;
        if (!deviceResident) return staging.hostFloats(values);
        WeightCache.Lease lease = backend.weightCache().acquire(values);
        leases.add(lease);
        return DeviceOperand.device(lease.address(), ElementType.FLOAT32, values.size());
    }

    /** Reserves the status block, {@code partials} partials and {@code splitBytes} of split-row state. */
    void scratch(int partials, long splitBytes) {
        partialCount = partials;
        scratchOffset = staging.reserve(CallStatus.BYTES + 16L * partials);
        splitOffset = staging.reserve(splitBytes);
    }

    /** Allocates the staging buffers and copies the host inputs up. */
    void start() {
        if (scratchOffset < 0) throw new IllegalStateException("scratch() was not called");
        if (staging.size() > PinnedBuffer.MAX_BYTES) {
            throw new IllegalArgumentException("the host operands of this call need " + staging.size()
                    + " bytes of staging, more than the cuda backend's " + PinnedBuffer.MAX_BYTES
                    + " per call; pass DeviceBuffer-backed matrices or split the batch");
        }
        slot.ensure(staging.size());
        staging.upload(slot.pinned(), slot);
    }

    StagingAddresses addresses() {
        return slot::deviceBase;
    }

    long address(DeviceOperand operand) {
        return operand.address(addresses());
    }

    long statusAddress() {
        return slot.deviceBase() + scratchOffset;
    }

    long partialsAddress() {
        return statusAddress() + CallStatus.BYTES;
    }

    long splitStateAddress() {
        return slot.deviceBase() + splitOffset;
    }

    void launch(Kernel kernel, int gridX, int gridY, int blockThreads, KernelArgs args) {
        args.checkAgainst(kernel);
        CudaException.check(JCudaDriver.cuLaunchKernel(backend.function(kernel), gridX, gridY, 1, blockThreads, 1, 1, 0,
                slot.stream, args.kernelParameters(), null), "cuLaunchKernel(" + kernel.entry() + ", grid " + gridX + "x" + gridY
                + ", block " + blockThreads + ")");
    }

    /** Copies status, partials and outputs down and waits for the stream. */
    void finish() {
        slot.deviceToHost(scratchOffset, CallStatus.BYTES + 16L * partialCount);
        staging.download(slot);
        slot.synchronize();
        finished = true;
    }

    CallStatus status() {
        return CallStatus.read(slot.pinned().asSlice(scratchOffset, CallStatus.BYTES));
    }

    /** The partials as (x, y) pairs: partials[2i], partials[2i + 1]. */
    double[] partials() {
        return slot.pinned().asSlice(scratchOffset + CallStatus.BYTES, 16L * partialCount).toArray(ValueLayout.JAVA_DOUBLE);
    }

    int partialCount() {
        return partialCount;
    }

    void deliver() {
        MemorySegment pinned = slot.pinned();
        staging.deliver(pinned);
    }

    /** Returns the weight leases (after the kernels that read them are done) and the slot. */
    @Override
    public void close() {
        try {
            if (!finished && !leases.isEmpty()) {
                try {
                    slot.synchronize(); // a launch failed midway: earlier kernels may still read the leased weights
                } catch (RuntimeException ignored) {
                    // the call's own exception is already on its way; the slot's stream is what it is
                }
            }
            for (WeightCache.Lease lease : leases) lease.close();
        } finally {
            backend.release(slot);
        }
    }
}
