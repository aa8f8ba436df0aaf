package org.losskit.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

import org.losskit.ElementType;
import org.losskit.Matrix;

/**
 * Moves blocks of at most {@link #SIZE} consecutive elements of one row between a {@link Matrix} and the float
 * arrays the kernels run on. A float32 {@code float[]} view is used in place (no copy); every other storage (memory
 * segments, bf16, fp16) is widened block by block into a small per-thread scratch array that stays in L1, so no
 * full-size float32 copy is ever made.
 *
 * <p>{@link #read} returns the index of the first element in {@link #array}: the matrix's own array or the scratch.
 */
final class Blocks {
    /** Elements per block: 8 KiB of floats, small enough that a block read twice in a row is read from L1. */
    static final int SIZE = 2048;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();

    private Blocks() {}

    /** True when the kernels can read and write {@code m} in place. */
    static boolean direct(Matrix m) {
        return m.floatArray() != null;
    }

    /**
     * The segment of a float32 segment view, whose blocks the softmax statistics read in place with vector loads
     * ({@link #byteOffset}); null for any other storage.
     */
    static MemorySegment floatSegment(Matrix m) {
        return m.segment() != null && m.type() == ElementType.FLOAT32 ? m.segment() : null;
    }

    /** Byte offset of element (row, col) of a segment view. */
    static long byteOffset(Matrix m, int row, int col) {
        return index(m, row, col) * m.type().byteSize();
    }

    /** The array {@link #read} or {@link #writeTarget} refers to for {@code m}. */
    static float[] array(Matrix m, float[] scratch) {
        float[] a = m.floatArray();
        return a != null ? a : scratch;
    }

    /** Storage index of element (row, col). */
    static long index(Matrix m, int row, int col) {
        return m.offset() + row * m.rowStride() + col;
    }

    /**
     * Makes elements (row, col .. col + n) readable as floats: returns their index in {@code array(m, scratch)},
     * widening them into {@code scratch[0, n)} unless {@code m} is a float32 array.
     */
    static int read(Matrix m, int row, int col, int n, float[] scratch) {
        long at = index(m, row, col);
        if (m.floatArray() != null) return (int) at;
        MemorySegment segment = m.segment();
        switch (m.type()) {
            case FLOAT32 -> MemorySegment.copy(segment, F32, at * 4, scratch, 0, n);
            case BFLOAT16 -> widenBfloat16(m.shortArray(), segment, at, n, scratch);
            case FLOAT16 -> widenFloat16(m.shortArray(), segment, at, n, scratch);
            case INT32 -> throw new IllegalStateException("an INT32 view holds no floats");
        }
        return 0;
    }

    /** Where a kernel writes elements (row, col ..) of {@code m}: their storage index, or 0 in the scratch. */
    static int writeTarget(Matrix m, int row, int col) {
        return m.floatArray() != null ? (int) index(m, row, col) : 0;
    }

    /** Finishes a write prepared by {@link #writeTarget}: copies {@code scratch[0, n)} out unless written in place. */
    static void write(Matrix m, int row, int col, int n, float[] scratch) {
        if (m.floatArray() != null) return;
        MemorySegment.copy(scratch, 0, m.segment(), F32, index(m, row, col) * 4, n);
    }

    /** bf16 is the upper half of a float32: widen each value to int and shift it left by 16 bits. */
    private static void widenBfloat16(short[] array, MemorySegment segment, long at, int n, float[] out) {
        int lanes = VectorShapes.LANES;
        int i = 0;
        int bound = n - lanes + 1;
        for (; i < bound; i += lanes) {
            ShortVector halves = array != null
                    ? ShortVector.fromArray(VectorShapes.HALF_SHORTS, array, (int) at + i)
                    : ShortVector.fromMemorySegment(VectorShapes.HALF_SHORTS, segment, (at + i) * 2, NATIVE);
            // Cast to IntVector before the shift: convertShape's result is a Vector<?>, and C2 devirtualises the
            // shift from the type profile of the JDK's shared conversion code, which other kernels' conversions
            // fill (FastLog's I2F). Speculating FloatVector there, it once compiled FloatVector.lanewise(LSHL) and
            // the JVM died ("fatal error: LSHIFT: float", JDK 25.0.3, in the side-by-side run of 2026-11-30).
            ((IntVector) halves.convertShape(VectorOperators.S2I, VectorShapes.INTS, 0))
                    .lanewise(VectorOperators.LSHL, 16)
                    .reinterpretAsFloats()
                    .intoArray(out, i);
        }
        for (; i < n; i++) {
            short bits = array != null ? array[(int) at + i] : segment.getAtIndex(I16, at + i);
            out[i] = Float.intBitsToFloat(bits << 16);
        }
    }

    /** fp16: {@link Float#float16ToFloat}, which C2 compiles to the hardware conversion and vectorises over arrays. */
    private static void widenFloat16(short[] array, MemorySegment segment, long at, int n, float[] out) {
        if (array != null) {
            int base = (int) at;
            for (int i = 0; i < n; i++) out[i] = Float.float16ToFloat(array[base + i]);
        } else {
            for (int i = 0; i < n; i++) out[i] = Float.float16ToFloat(segment.getAtIndex(I16, at + i));
        }
    }

    /** Sets elements (row, col .. col + n) of a float32 matrix to 0. */
    static void zero(Matrix m, int row, int col, int n) {
        long at = index(m, row, col);
        if (m.floatArray() != null) {
            java.util.Arrays.fill(m.floatArray(), (int) at, (int) at + n, 0f);
        } else {
            m.segment().asSlice(at * 4, n * 4L).fill((byte) 0);
        }
    }
}
