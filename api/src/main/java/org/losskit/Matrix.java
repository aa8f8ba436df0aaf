package org.losskit;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Objects;

/**
 * A row-major 2-D view ({@code rows x cols}) over caller-owned storage: a Java array, a {@link MemorySegment}
 * (heap or native) or {@link DeviceMemory}. Element {@code (r, c)} lives at element index
 * {@code offset + r * rowStride + c} of the storage, so a padded vocabulary or a slice of a larger buffer
 * needs no copy.
 *
 * <p>A view is immutable; the storage behind it is not. Every factory checks its arguments, so a view that
 * exists always fits inside its storage: kernels never need to check bounds again.
 *
 * <p>One-dimensional data (targets, per-row losses, diagnostics) are views with one row, made by the
 * {@code vector} factories. Outputs are addressed by <em>flat index</em> {@code i}: element
 * {@code (i / cols, i % cols)}.
 */
public final class Matrix {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED;

    private final ElementType type;
    private final Object array; // float[], short[] or int[]; null for segment or device storage
    private final MemorySegment segment; // null for array or device storage
    private final DeviceMemory device; // null for host storage
    private final long offset;
    private final int rows;
    private final int cols;
    private final long rowStride;

    private Matrix(ElementType type, Object array, MemorySegment segment, DeviceMemory device,
                   long offset, int rows, int cols, long rowStride, long capacity, String storageName) {
        this.type = type;
        this.array = array;
        this.segment = segment;
        this.device = device;
        this.offset = offset;
        this.rows = rows;
        this.cols = cols;
        this.rowStride = rowStride;
        checkShape(storageName, capacity);
    }

    // ---------------------------------------------------------------- factories over Java arrays

    /** A dense {@code rows x cols} float32 view of {@code data} from index 0. */
    public static Matrix of(float[] data, int rows, int cols) {
        return of(data, 0, rows, cols, cols);
    }

    /** A float32 view of {@code data} with an offset and a row stride, both in elements. */
    public static Matrix of(float[] data, long offset, int rows, int cols, long rowStride) {
        Objects.requireNonNull(data, "data");
        return new Matrix(ElementType.FLOAT32, data, null, null, offset, rows, cols, rowStride, data.length, "data");
    }

    /** A float32 vector over the whole of {@code data}. */
    public static Matrix vector(float[] data) {
        Objects.requireNonNull(data, "data");
        return of(data, 0, 1, data.length, data.length);
    }

    /** A float32 vector over {@code data[offset, offset + length)}. */
    public static Matrix vector(float[] data, int offset, int length) {
        Objects.requireNonNull(data, "data");
        return of(data, offset, 1, length, length);
    }

    /** An int32 vector over the whole of {@code data} (class-index targets, argmax outputs). */
    public static Matrix vector(int[] data) {
        Objects.requireNonNull(data, "data");
        return vector(data, 0, data.length);
    }

    /** An int32 vector over {@code data[offset, offset + length)}. */
    public static Matrix vector(int[] data, int offset, int length) {
        Objects.requireNonNull(data, "data");
        return new Matrix(ElementType.INT32, data, null, null, offset, 1, length, length, data.length, "data");
    }

    /** A bf16 or fp16 view of 16-bit values stored in {@code data}. */
    public static Matrix ofHalf(ElementType type, short[] data, long offset, int rows, int cols, long rowStride) {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(data, "data");
        if (type != ElementType.BFLOAT16 && type != ElementType.FLOAT16) {
            throw new IllegalArgumentException("type must be BFLOAT16 or FLOAT16 for short[] data, got " + type);
        }
        return new Matrix(type, data, null, null, offset, rows, cols, rowStride, data.length, "data");
    }

    // ---------------------------------------------------------------- factories over memory segments

    /**
     * A view of a memory segment (heap or native). Offsets and strides count elements of {@code type}; values
     * are read in native byte order and need no alignment.
     */
    public static Matrix of(MemorySegment segment, ElementType type, long offset, int rows, int cols, long rowStride) {
        Objects.requireNonNull(segment, "segment");
        Objects.requireNonNull(type, "type");
        return new Matrix(type, null, segment, null, offset, rows, cols, rowStride,
                segment.byteSize() / type.byteSize(), "segment");
    }

    /** A dense float32 view of a memory segment from byte 0. */
    public static Matrix of(MemorySegment segment, int rows, int cols) {
        return of(segment, ElementType.FLOAT32, 0, rows, cols, cols);
    }

    // ---------------------------------------------------------------- factory over device memory

    /** A view of device memory owned by a backend (see {@link DeviceMemory}). */
    public static Matrix onDevice(DeviceMemory memory, ElementType type, long offset, int rows, int cols, long rowStride) {
        Objects.requireNonNull(memory, "memory");
        Objects.requireNonNull(type, "type");
        return new Matrix(type, null, null, memory, offset, rows, cols, rowStride,
                memory.byteSize() / type.byteSize(), "device memory");
    }

    /**
     * The view fits in {@code capacity} elements of its storage. The arithmetic is exact: a row stride or offset so
     * large that the span would pass 2^63 is refused by name, never wrapped round to a small number that fits.
     */
    private void checkShape(String storageName, long capacity) {
        if (rows < 0) throw new IllegalArgumentException("rows must be >= 0, got " + rows);
        if (cols < 0) throw new IllegalArgumentException("cols must be >= 0, got " + cols);
        if (offset < 0) throw new IllegalArgumentException("offset must be >= 0, got " + offset);
        if (rowStride < 0) throw new IllegalArgumentException("rowStride must be >= 0, got " + rowStride);
        if (rows > 1 && rowStride < cols) {
            throw new IllegalArgumentException("rowStride (" + rowStride + ") is smaller than cols (" + cols + ")");
        }
        long needed = exactExtent(rows, cols, rowStride);
        if (needed > capacity - offset) { // capacity >= 0 and offset >= 0: the difference cannot overflow
            String end = needed > Long.MAX_VALUE - offset ? "more than " + Long.MAX_VALUE : Long.toString(offset + needed);
            throw new IllegalArgumentException(storageName + " is too short: " + rows + " rows x " + cols
                    + " cols with rowStride " + rowStride + " from offset " + offset + " need " + end
                    + " elements, " + storageName + " holds " + capacity);
        }
    }

    /** {@code (rows - 1) rowStride + cols} (0 for an empty view), or an exception naming rowStride if it passes 2^63. */
    private static long exactExtent(int rows, int cols, long rowStride) {
        if (rows == 0 || cols == 0) return 0;
        try {
            return Math.addExact(Math.multiplyExact(rows - 1L, rowStride), cols);
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("rowStride (" + rowStride + ") is too large: " + rows + " rows x " + cols
                    + " cols would span more than " + Long.MAX_VALUE + " elements");
        }
    }

    /**
     * A read-only float32 vector holding a copy of this view's values in row-major order. Options keep their
     * weight vectors this way, so no caller can change them after validation.
     */
    public Matrix readOnlyCopy() {
        if (device != null) throw new IllegalArgumentException("weights must be on the host, not in device memory");
        if (!type.isFloating()) throw new IllegalArgumentException("weights must be floating point, got " + type);
        float[] copy = new float[Math.toIntExact(size())];
        for (int i = 0; i < copy.length; i++) copy[i] = getFloat(i);
        MemorySegment readOnly = MemorySegment.ofArray(copy).asReadOnly();
        return of(readOnly, ElementType.FLOAT32, 0, 1, copy.length, copy.length);
    }

    // ---------------------------------------------------------------- shape and storage

    public ElementType type() { return type; }
    public int rows() { return rows; }
    public int cols() { return cols; }
    /** Distance between the starts of consecutive rows, in elements. */
    public long rowStride() { return rowStride; }
    /** Index of element (0, 0) in the storage, in elements. */
    public long offset() { return offset; }
    /** Number of logical elements, {@code rows * cols}. */
    public long size() { return (long) rows * cols; }

    /** Elements of storage spanned from element (0, 0) to the last element, inclusive (fits in the storage). */
    public long extent() {
        return exactExtent(rows, cols, rowStride);
    }

    /** True when the rows follow one another with no gap, so flat index i is storage index offset + i. */
    public boolean isContiguous() {
        return rows <= 1 || rowStride == cols;
    }

    /** The backing {@code float[]}, or null when the storage is something else. */
    public float[] floatArray() { return array instanceof float[] a ? a : null; }
    /** The backing {@code short[]} (bf16 or fp16), or null. */
    public short[] shortArray() { return array instanceof short[] a ? a : null; }
    /** The backing {@code int[]}, or null. */
    public int[] intArray() { return array instanceof int[] a ? a : null; }
    /** The backing memory segment, or null when the storage is an array or device memory. */
    public MemorySegment segment() { return segment; }
    /** The backing device memory, or null for host storage. */
    public DeviceMemory device() { return device; }
    /** True when the storage is on an accelerator. */
    public boolean isOnDevice() { return device != null; }

    /** True when writes are refused by the storage (a read-only memory segment). */
    public boolean isReadOnly() {
        return segment != null && segment.isReadOnly();
    }

    /**
     * The host bytes this view spans, as a segment (arrays are wrapped without copying). Used for overlap
     * checks and by kernels that read every storage kind through one path.
     */
    public MemorySegment hostSegment() {
        if (device != null) throw new IllegalStateException("device memory has no host segment");
        MemorySegment whole = switch (array) {
            case float[] a -> MemorySegment.ofArray(a);
            case short[] a -> MemorySegment.ofArray(a);
            case int[] a -> MemorySegment.ofArray(a);
            case null -> segment;
            default -> throw new IllegalStateException("unexpected storage " + array.getClass());
        };
        return whole.asSlice(offset * type.byteSize(), extent() * type.byteSize());
    }

    /**
     * True when the two views share at least one byte of storage (their extents overlap; two strided views that
     * interleave without sharing an element still count). Arrays, native segments and device memory are compared
     * by address range without allocating, since every call checks its outputs this way.
     */
    public boolean overlaps(Matrix other) {
        if (other == null || size() == 0 || other.size() == 0) return false;
        if (device != null || other.device != null) {
            return device != null && other.device != null
                    && byteRangesOverlap(device.address(), other.device.address(), other);
        }
        boolean isNative = segment != null && segment.isNative();
        boolean otherIsNative = other.segment != null && other.segment.isNative();
        if (isNative && otherIsNative) return byteRangesOverlap(segment.address(), other.segment.address(), other);
        if (isNative != otherIsNative) return false; // native memory never overlaps the Java heap
        if (array != null && other.array != null) return array == other.array && byteRangesOverlap(0, 0, other);
        // A heap segment on at least one side: let the FFM API compare the heap bases.
        return hostSegment().asOverlappingSlice(other.hostSegment()).isPresent();
    }

    /** [base + offset, base + offset + extent) against the same for {@code other}, in bytes. */
    private boolean byteRangesOverlap(long base, long otherBase, Matrix other) {
        long a0 = base + offset * type.byteSize();
        long a1 = a0 + extent() * type.byteSize();
        long b0 = otherBase + other.offset * other.type.byteSize();
        long b1 = b0 + other.extent() * other.type.byteSize();
        return a0 < b1 && b0 < a1;
    }

    // ---------------------------------------------------------------- element access (clear, not fast)

    private long index(int r, int c) {
        return offset + r * rowStride + c;
    }

    private long flatIndex(long i) {
        return cols == 0 ? offset : index((int) (i / cols), (int) (i % cols));
    }

    /** Element (r, c) widened to float. Unchecked beyond the view's construction; callers stay in range. */
    public float getFloat(int r, int c) {
        return readFloat(index(r, c));
    }

    /** Element at flat index {@code i} widened to float. */
    public float getFloat(long i) {
        return readFloat(flatIndex(i));
    }

    /** Writes element (r, c) of a float32 view. */
    public void setFloat(int r, int c, float value) {
        writeFloat(index(r, c), value);
    }

    /** Writes the element at flat index {@code i} of a float32 view. */
    public void setFloat(long i, float value) {
        writeFloat(flatIndex(i), value);
    }

    /** Element at flat index {@code i} of an int32 view. */
    public int getInt(long i) {
        long at = flatIndex(i);
        if (array instanceof int[] a) return a[(int) at];
        requireHost();
        return segment.getAtIndex(I32, at);
    }

    /** Writes the element at flat index {@code i} of an int32 view. */
    public void setInt(long i, int value) {
        long at = flatIndex(i);
        if (array instanceof int[] a) {
            a[(int) at] = value;
            return;
        }
        requireHost();
        segment.setAtIndex(I32, at, value);
    }

    private float readFloat(long at) {
        return switch (type) {
            case FLOAT32 -> array instanceof float[] a ? a[(int) at] : hostSegmentRaw().getAtIndex(F32, at);
            case BFLOAT16 -> bfloat16ToFloat(array instanceof short[] a ? a[(int) at] : hostSegmentRaw().getAtIndex(I16, at));
            case FLOAT16 -> Float.float16ToFloat(array instanceof short[] a ? a[(int) at] : hostSegmentRaw().getAtIndex(I16, at));
            case INT32 -> throw new IllegalStateException("an INT32 view holds no floats");
        };
    }

    private void writeFloat(long at, float value) {
        if (type != ElementType.FLOAT32) throw new IllegalStateException("only FLOAT32 views are written, this is " + type);
        if (array instanceof float[] a) {
            a[(int) at] = value;
        } else {
            hostSegmentRaw().setAtIndex(F32, at, value);
        }
    }

    private MemorySegment hostSegmentRaw() {
        requireHost();
        return segment;
    }

    private void requireHost() {
        if (device != null) {
            throw new IllegalStateException("element access to device memory; run this call on the backend that owns it ("
                    + device.backendName() + ")");
        }
    }

    /** bf16 is the upper half of a float32: widening is a shift. */
    public static float bfloat16ToFloat(short bits) {
        return Float.intBitsToFloat(bits << 16);
    }

    /** Rounds a float to the nearest bf16 (ties to even); NaN stays NaN. */
    public static short floatToBfloat16(float value) {
        int bits = Float.floatToRawIntBits(value);
        if (Float.isNaN(value)) return (short) ((bits >>> 16) | 0x40);
        int roundingBias = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + roundingBias) >>> 16);
    }

    @Override
    public String toString() {
        String storage = array != null ? array.getClass().getSimpleName() : segment != null ? "segment" : "device";
        return "Matrix[" + rows + "x" + cols + " " + type + " stride=" + rowStride + " offset=" + offset + " on " + storage + "]";
    }
}
