package org.losskit.examples;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import org.losskit.CrossEntropyOptions;
import org.losskit.LossEngine;
import org.losskit.LossOutputs;
import org.losskit.Matrix;

/**
 * DJL NDArrays as losskit {@link Matrix} views, with no copy where DJL allows it.
 *
 * <p><b>Where there is no copy.</b> With the PyTorch engine, {@link NDArray#toByteBuffer(boolean) toByteBuffer(true)}
 * of a contiguous float32 array on the CPU returns a direct buffer over the tensor's own memory;
 * {@link MemorySegment#ofBuffer} views it and {@link Matrix#of(MemorySegment, int, int)} makes the rows x classes
 * view. The same works for outputs: losskit writes the gradient straight into an NDArray made with
 * {@link NDManager#zeros}. The NDArray must stay open while the view is used.
 *
 * <p><b>Where there is a copy.</b> A non-contiguous array (a transposed view) or one on a GPU: DJL makes a
 * contiguous CPU copy first, and writes to that copy do not reach the original, so an output must be contiguous and
 * on the CPU ({@link #requireDirectView} checks). Other engines may always copy: the plain
 * {@link NDArray#toByteBuffer()} copies on every engine. Labels: DJL's are int64 and losskit takes int32 class
 * indices today (int64 targets come with the API redesign), so {@link #labels} narrows them, a copy of one value
 * per row.
 */
public final class DjlExample {
    private DjlExample() {}

    /** A zero-copy float32 view of a 2-D NDArray; throws when DJL would hand out a copy. */
    public static Matrix matrixView(NDArray array) {
        Shape shape = array.getShape();
        if (shape.dimension() != 2 || array.getDataType() != DataType.FLOAT32) {
            throw new IllegalArgumentException("a float32 rows x cols NDArray is needed, got " + shape + " " + array.getDataType());
        }
        ByteBuffer memory = requireDirectView(array);
        return Matrix.of(MemorySegment.ofBuffer(memory), Math.toIntExact(shape.get(0)), Math.toIntExact(shape.get(1)));
    }

    /**
     * The NDArray's own memory as a direct buffer. DJL's PyTorch engine gives one for a contiguous CPU tensor; for
     * anything else it copies, which this refuses (a copy would silently drop writes).
     */
    static ByteBuffer requireDirectView(NDArray array) {
        if (!array.getDevice().equals(Device.cpu())) {
            throw new IllegalArgumentException("the NDArray is on " + array.getDevice() + "; only CPU memory can be viewed");
        }
        ByteBuffer memory = array.toByteBuffer(true);
        if (!memory.isDirect()) throw new IllegalArgumentException("DJL copied the NDArray (engine " + array.getManager().getEngine().getEngineName() + ")");
        return memory;
    }

    /** DJL's int64 class labels as the int32 losskit takes, refusing a value outside int32 (one copy, one value per row). */
    public static int[] labels(NDArray labels) {
        long[] wide = labels.toLongArray();
        int[] narrow = new int[wide.length];
        for (int i = 0; i < wide.length; i++) {
            if (wide[i] != (int) wide[i]) throw new IllegalArgumentException("label " + i + " = " + wide[i] + " does not fit in int32");
            narrow[i] = (int) wide[i];
        }
        return narrow;
    }

    /**
     * Mean cross-entropy of {@code logits} (rows x classes, float32) against {@code labels} (int64), the gradient
     * written into a new NDArray of {@code manager}, returned with the loss.
     */
    public static Result crossEntropy(LossEngine engine, NDManager manager, NDArray logits, NDArray labels) {
        NDArray gradient = manager.zeros(logits.getShape(), DataType.FLOAT32);
        double loss = engine.crossEntropy(matrixView(logits), Matrix.vector(labels(labels)), CrossEntropyOptions.defaults(),
                LossOutputs.withGradient(matrixView(gradient)));
        return new Result(loss, gradient);
    }

    /** The loss and its gradient, an NDArray of the logits' shape. */
    public record Result(double loss, NDArray gradient) {}

    public static void main(String[] args) {
        try (NDManager manager = NDManager.newBaseManager(Device.cpu(), "PyTorch");
             LossEngine engine = LossEngine.create()) {
            NDArray logits = manager.randomNormal(new Shape(4, 10));
            NDArray labels = manager.create(new long[] {3, 1, 4, 1});
            Result result = crossEntropy(engine, manager, logits, labels);
            System.out.printf("cross-entropy %.6f, gradient %s (backend %s)%n", result.loss(), result.gradient().getShape(),
                    engine.backendName());
        }
    }
}
