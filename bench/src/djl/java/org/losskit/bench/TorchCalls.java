package org.losskit.bench;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;

/**
 * The peer's calls: libtorch on the CPU through DJL, written as a JVM user of libtorch would write a training
 * step. Inputs become tensors once (not timed); each call runs the forward in autograd mode and the backward by
 * libtorch's autograd, which leaves the gradient in the input tensor's {@code grad} (libtorch's own buffer, as our
 * kernels leave it in the caller's). Temporaries of a call live in a sub-manager freed at the end of the call.
 *
 * <p>Needs the {@code djl} Maven profile; bench/run sets {@code ai.djl.offline=true} and {@code PYTORCH_VERSION},
 * so the native library comes from the {@code pytorch-native-cpu} jar on the class path, never from the network.
 */
public final class TorchCalls {
    static final String ENGINE = "PyTorch";

    private TorchCalls() {}

    /** "libtorch 2.7.1 on the CPU through DJL 0.35.1, intra-op threads: ...". */
    public static String description() {
        Engine engine = Engine.getEngine(ENGINE);
        String threads = System.getenv("OMP_NUM_THREADS");
        return "libtorch " + engine.getVersion() + " on the CPU through DJL " + Engine.getDjlVersion() + ", intra-op threads: "
                + (threads == null ? "libtorch's default (one per core)" : threads + " (OMP_NUM_THREADS)");
    }

    /** A call with its tensors; {@link #gradient()} reads the input's gradient after a call (for checks). */
    public abstract static class TorchCall implements PreparedCall {
        final NDManager manager;
        final NDArray input;
        final boolean backward;

        TorchCall(NDManager manager, NDArray input, boolean backward) {
            this.manager = manager;
            this.input = input;
            this.backward = backward;
            input.setRequiresGradient(backward);
        }

        /** The forward on {@code input}; its temporaries attach to {@code scratch}. */
        abstract NDArray loss(NDArray input);

        @Override
        public double call() {
            try (NDManager scratch = manager.newSubManager()) {
                input.tempAttach(scratch);
                try (GradientCollector collector = Engine.getEngine(ENGINE).newGradientCollector()) {
                    NDArray loss = loss(input);
                    if (backward) collector.backward(loss);
                    return loss.getFloat();
                }
            }
        }

        /** The gradient libtorch's autograd left in the input tensor. */
        public float[] gradient() {
            return input.getGradient().toFloatArray();
        }

        @Override
        public void close() {
            manager.close();
        }
    }

    /** Mean cross-entropy: {@code -mean(gather(logSoftmax(z, 1), targets, 1))}, backward by autograd. */
    public static TorchCall crossEntropy(float[] logits, int[] targets, int rows, int vocab) {
        NDManager manager = NDManager.newBaseManager(Device.cpu(), ENGINE);
        NDArray z = manager.create(logits, new Shape(rows, vocab));
        long[] wideTargets = new long[rows];
        for (int r = 0; r < rows; r++) wideTargets[r] = targets[r];
        NDArray target = manager.create(wideTargets, new Shape(rows, 1));
        return new TorchCall(manager, z, true) {
            @Override
            NDArray loss(NDArray input) {
                return input.logSoftmax(1).gather(target, 1).neg().mean();
            }
        };
    }

    /**
     * Mean BCE with logits, composed as PyTorch's own kernel computes it: {@code max(x, 0) - x t + softplus(-|x|)},
     * backward by autograd.
     */
    public static TorchCall bceWithLogits(float[] logits, float[] targets) {
        NDManager manager = NDManager.newBaseManager(Device.cpu(), ENGINE);
        NDArray x = manager.create(logits);
        NDArray t = manager.create(targets);
        return new TorchCall(manager, x, true) {
            @Override
            NDArray loss(NDArray input) {
                NDArray softplusOfMinusAbs = input.abs().neg().getNDArrayInternal().softPlus();
                return input.maximum(0f).sub(input.mul(t)).add(softplusOfMinusAbs).mean();
            }
        };
    }

    /** {@code sum(x)}, no gradient. */
    public static TorchCall sum(float[] values) {
        NDManager manager = NDManager.newBaseManager(Device.cpu(), ENGINE);
        NDArray x = manager.create(values);
        return new TorchCall(manager, x, false) {
            @Override
            NDArray loss(NDArray input) {
                return input.sum();
            }
        };
    }
}
