package org.losskit.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;

import org.losskit.ElementType;
import org.losskit.Matrix;

/** Test inputs: random values and the same values in every storage the kernels read. */
final class Inputs {
    /** Row lengths that hit every tail at the vector width under test. */
    static int[] sizes() {
        int l = VectorShapes.lanes();
        return new int[] {1, l - 1, l, l + 1, 2 * l + 1, 207, 702, 4098, 32000, 128256};
    }

    enum Storage { ARRAY, STRIDED_ARRAY, HEAP_SEGMENT, NATIVE_SEGMENT, BFLOAT16, FLOAT16, BFLOAT16_SEGMENT }

    private Inputs() {}

    static float[] gaussian(SplittableRandom random, int n, double sigma) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (nextGaussian(random) * sigma);
        return a;
    }

    static float[] uniform(SplittableRandom random, int n, double from, double to) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) random.nextDouble(from, to);
        return a;
    }

    static double nextGaussian(SplittableRandom random) {
        double u = random.nextDouble();
        double v = random.nextDouble();
        return Math.sqrt(-2 * Math.log(1 - u)) * Math.cos(2 * Math.PI * v);
    }

    /** rows x cols values held in {@code storage}; half types round the values (both backends read the same bits). */
    static Matrix in(Storage storage, float[] values, int rows, int cols, Arena arena) {
        int stride = cols + 3;
        return switch (storage) {
            case ARRAY -> Matrix.of(values.clone(), rows, cols);
            case STRIDED_ARRAY -> {
                float[] padded = new float[5 + rows * stride];
                java.util.Arrays.fill(padded, Float.NaN); // padding must never be read
                for (int r = 0; r < rows; r++) System.arraycopy(values, r * cols, padded, 5 + r * stride, cols);
                yield Matrix.of(padded, 5, rows, cols, stride);
            }
            case HEAP_SEGMENT -> Matrix.of(MemorySegment.ofArray(values.clone()), rows, cols);
            case NATIVE_SEGMENT -> {
                MemorySegment segment = arena.allocate(4L * (1 + rows * stride), 4).asSlice(4);
                for (int r = 0; r < rows; r++) {
                    MemorySegment.copy(values, r * cols, segment, ValueLayout.JAVA_FLOAT_UNALIGNED, 4L * r * stride, cols);
                }
                yield Matrix.of(segment, ElementType.FLOAT32, 0, rows, cols, stride);
            }
            case BFLOAT16, FLOAT16 -> {
                short[] halves = new short[rows * stride];
                for (int r = 0; r < rows; r++) {
                    for (int c = 0; c < cols; c++) halves[r * stride + c] = toHalf(storage, values[r * cols + c]);
                }
                yield Matrix.ofHalf(storage == Storage.BFLOAT16 ? ElementType.BFLOAT16 : ElementType.FLOAT16, halves, 0, rows, cols, stride);
            }
            case BFLOAT16_SEGMENT -> {
                MemorySegment segment = arena.allocate(2L * rows * cols, 2);
                for (int i = 0; i < rows * cols; i++) segment.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, Matrix.floatToBfloat16(values[i]));
                yield Matrix.of(segment, ElementType.BFLOAT16, 0, rows, cols, cols);
            }
        };
    }

    private static short toHalf(Storage storage, float v) {
        return storage == Storage.FLOAT16 ? Float.floatToFloat16(v) : Matrix.floatToBfloat16(v);
    }

    /** A float32 output buffer in array or native storage. */
    static Matrix output(boolean nativeSegment, int rows, int cols, Arena arena) {
        if (!nativeSegment) return Matrix.of(new float[rows * cols], rows, cols);
        return Matrix.of(arena.allocate(4L * rows * cols, 4), rows, cols);
    }
}
