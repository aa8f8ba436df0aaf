package org.losskit;

/**
 * The element types a {@link Matrix} can hold. Losses are computed in float32 (or wider);
 * bf16 and fp16 inputs are widened element by element inside the kernels, never copied.
 */
public enum ElementType {
    /** IEEE binary32, the working type. */
    FLOAT32(4),
    /** bfloat16 stored in a {@code short}: the upper 16 bits of a float32. */
    BFLOAT16(2),
    /** IEEE binary16 stored in a {@code short}. */
    FLOAT16(2),
    /** Signed 32-bit integers: class-index targets and argmax outputs. */
    INT32(4);

    private final int byteSize;

    ElementType(int byteSize) {
        this.byteSize = byteSize;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    /** True for the three floating-point types. */
    public boolean isFloating() {
        return this != INT32;
    }
}
