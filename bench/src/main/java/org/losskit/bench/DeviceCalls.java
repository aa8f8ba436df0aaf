package org.losskit.bench;

import java.util.ArrayDeque;
import java.util.Deque;

import org.losskit.CrossEntropyOptions;
import org.losskit.ElementType;
import org.losskit.LossEngine;
import org.losskit.LossOutputs;
import org.losskit.Matrix;
import org.losskit.PointwiseLoss;
import org.losskit.ReduceOp;
import org.losskit.Reduction;
import org.losskit.bench.BackendCalls.SweepData;
import org.losskit.cuda.DeviceBuffer;

/**
 * The sweep's calls on device-resident data: the same workloads and values as {@link BackendCalls}, but inputs
 * and outputs live in {@link DeviceBuffer}s that are allocated and filled once when the call is prepared, outside
 * the timed region, and freed when the prepared call is closed. Timing such a call measures the kernels (and the
 * launch), no host-device copies. Needs the CUDA backend; preparing throws with the reason where CUDA cannot run.
 */
final class DeviceCalls {
    private DeviceCalls() {}

    static PreparedCall prepare(LossEngine engine, Workload workload, int rows, int cols, long seed) {
        SweepData data = SweepData.make(workload, rows, cols, seed);
        DeviceBuffers buffers = new DeviceBuffers();
        try {
            return switch (workload) {
                case CROSS_ENTROPY -> {
                    Matrix logits = buffers.upload(data.input(), rows, cols);
                    Matrix targets = buffers.upload(data.classTargets());
                    CrossEntropyOptions options = CrossEntropyOptions.defaults();
                    LossOutputs outputs = LossOutputs.withGradient(buffers.floats(rows, cols));
                    yield buffers.owning(() -> engine.crossEntropy(logits, targets, options, outputs));
                }
                case BCE_WITH_LOGITS -> {
                    Matrix logits = buffers.upload(data.input(), rows, cols);
                    Matrix targets = buffers.upload(data.binaryTargets(), rows, cols);
                    PointwiseLoss.BceWithLogits bce = new PointwiseLoss.BceWithLogits(Reduction.MEAN);
                    LossOutputs outputs = LossOutputs.withGradient(buffers.floats(rows, cols));
                    yield buffers.owning(() -> engine.bceWithLogits(logits, targets, null, bce, outputs));
                }
                case SUM -> {
                    Matrix x = buffers.upload(data.input(), rows, cols);
                    yield buffers.owning(() -> engine.reduce(ReduceOp.SUM, x));
                }
            };
        } catch (RuntimeException | Error e) {
            try {
                buffers.close();
            } catch (RuntimeException closing) {
                e.addSuppressed(closing);
            }
            throw e;
        }
    }

    /** The buffers of one prepared call, freed together (last allocated first), also when a later one fails. */
    private static final class DeviceBuffers implements AutoCloseable {
        private final Deque<DeviceBuffer> allocated = new ArrayDeque<>();

        /** A dense rows x cols float32 view of a new buffer holding {@code values}. */
        Matrix upload(float[] values, int rows, int cols) {
            DeviceBuffer buffer = allocate((long) Float.BYTES * values.length);
            buffer.copyFrom(values);
            return buffer.matrix(ElementType.FLOAT32, rows, cols);
        }

        /** A vector view (one row) of a new int32 buffer holding {@code values}. */
        Matrix upload(int[] values) {
            DeviceBuffer buffer = allocate((long) Integer.BYTES * values.length);
            buffer.copyFrom(values);
            return buffer.matrix(ElementType.INT32, 1, values.length);
        }

        /** A dense rows x cols float32 view of a new buffer, for outputs. */
        Matrix floats(int rows, int cols) {
            return allocate((long) Float.BYTES * rows * cols).matrix(ElementType.FLOAT32, rows, cols);
        }

        private DeviceBuffer allocate(long bytes) {
            DeviceBuffer buffer = DeviceBuffer.allocate(bytes);
            allocated.push(buffer);
            return buffer;
        }

        /** {@code call} as a prepared call whose {@code close} frees these buffers. */
        PreparedCall owning(PreparedCall call) {
            return new PreparedCall() {
                @Override
                public double call() {
                    return call.call();
                }

                @Override
                public void close() {
                    DeviceBuffers.this.close();
                }
            };
        }

        /** Frees every buffer; the first failure is thrown after all were tried. */
        @Override
        public void close() {
            RuntimeException first = null;
            while (!allocated.isEmpty()) {
                try {
                    allocated.pop().close();
                } catch (RuntimeException e) {
                    if (first == null) first = e;
                    else first.addSuppressed(e);
                }
            }
            if (first != null) throw first;
        }
    }
}
