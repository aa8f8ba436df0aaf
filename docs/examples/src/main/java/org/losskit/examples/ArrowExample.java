package org.losskit.examples;

import java.lang.foreign.MemorySegment;

import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.Float4Vector;
import org.apache.arrow.vector.IntVector;

import org.losskit.CrossEntropyOptions;
import org.losskit.ElementType;
import org.losskit.LossEngine;
import org.losskit.LossOutputs;
import org.losskit.Matrix;

/**
 * Apache Arrow vectors as losskit {@link Matrix} views, with no copy where Arrow allows it.
 *
 * <p><b>Where there is no copy.</b> A {@link Float4Vector} (float32) or {@link IntVector} (int32) keeps its values in
 * one off-heap {@link ArrowBuf}: {@code MemorySegment.ofAddress(buf.memoryAddress()).reinterpret(bytes)} views it
 * (reinterpret is a restricted method: run with {@code --enable-native-access=ALL-UNNAMED}), and a row-major
 * batch of logits stored as one Float4Vector of rows x classes values becomes a rows x classes view. The segment
 * has no lifetime of its own: the vector must stay open while the view is used.
 *
 * <p><b>Where there is a copy, or nothing.</b> Nulls: a view ignores Arrow's validity bitmap, so a vector with
 * nulls is refused ({@link #view}). int64 labels ({@link BigIntVector}, the usual type for labels) are narrowed to
 * the int32 losskit takes today ({@link #labels}: a copy of one value per row; int64 targets come with the API
 * redesign). A {@code FixedSizeListVector} of floats views the same way through its data vector; other layouts
 * (a {@code ListVector} of rows of different lengths) are not a matrix.
 */
public final class ArrowExample {
    private ArrowExample() {}

    /** The whole data buffer of a fixed-width vector as a segment; refused when it holds nulls. */
    @SuppressWarnings("restricted") // reinterpret: the one place the example trusts Arrow's address and size
    private static MemorySegment segment(FieldVector vector, int elementBytes) {
        if (vector.getNullCount() > 0) {
            throw new IllegalArgumentException(vector.getField().getName() + " has " + vector.getNullCount()
                    + " nulls; a losskit view has no validity bitmap");
        }
        ArrowBuf data = vector.getDataBuffer();
        long bytes = (long) vector.getValueCount() * elementBytes;
        return MemorySegment.ofAddress(data.memoryAddress()).reinterpret(bytes);
    }

    /** A rows x cols float32 view of a Float4Vector holding rows * cols values, row-major. */
    public static Matrix view(Float4Vector values, int rows, int cols) {
        if ((long) rows * cols != values.getValueCount()) {
            throw new IllegalArgumentException(values.getField().getName() + " holds " + values.getValueCount() + " values, not "
                    + rows + " x " + cols);
        }
        return Matrix.of(segment(values, Float.BYTES), ElementType.FLOAT32, 0, rows, cols, cols);
    }

    /** An int32 vector view of an IntVector (class indices), no copy. */
    public static Matrix view(IntVector labels) {
        return Matrix.of(segment(labels, Integer.BYTES), ElementType.INT32, 0, 1, labels.getValueCount(), labels.getValueCount());
    }

    /** int64 labels narrowed to int32 with a range check: a copy, one value per row. */
    public static int[] labels(BigIntVector labels) {
        if (labels.getNullCount() > 0) throw new IllegalArgumentException("labels have nulls");
        int[] narrow = new int[labels.getValueCount()];
        for (int i = 0; i < narrow.length; i++) {
            long label = labels.get(i);
            if (label != (int) label) throw new IllegalArgumentException("label " + i + " = " + label + " does not fit in int32");
            narrow[i] = (int) label;
        }
        return narrow;
    }

    /** Mean cross-entropy of Arrow logits against Arrow int32 labels, the gradient into another Float4Vector. */
    public static double crossEntropy(LossEngine engine, Float4Vector logits, IntVector labels, Float4Vector gradient, int classes) {
        int rows = labels.getValueCount();
        return engine.crossEntropy(view(logits, rows, classes), view(labels), CrossEntropyOptions.defaults(),
                LossOutputs.withGradient(view(gradient, rows, classes)));
    }
}
