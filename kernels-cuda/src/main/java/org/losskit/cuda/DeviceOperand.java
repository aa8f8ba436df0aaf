package org.losskit.cuda;

import org.losskit.ElementType;

/**
 * Where a kernel finds one operand: at a fixed device address (caller-owned device memory), at an offset into
 * the call's staging buffer (host data copied in), or nowhere (an optional operand that is absent: a null pointer).
 *
 * @param typeCode  element type as the kernels number it (LK_F32, LK_BF16, LK_F16 in common.cuh)
 * @param rowStride elements between row starts
 */
record DeviceOperand(Kind kind, long addressOrOffset, int typeCode, long rowStride) {
    enum Kind { ABSENT, DEVICE, STAGED }

    static final DeviceOperand ABSENT = new DeviceOperand(Kind.ABSENT, 0, 0, 0);

    static DeviceOperand device(long address, ElementType type, long rowStride) {
        return new DeviceOperand(Kind.DEVICE, address, typeCode(type), rowStride);
    }

    static DeviceOperand staged(long offset, ElementType type, long rowStride) {
        return new DeviceOperand(Kind.STAGED, offset, typeCode(type), rowStride);
    }

    /** The device address for a launch; 0 (null) when absent. */
    long address(StagingAddresses staging) {
        return switch (kind) {
            case ABSENT -> 0;
            case DEVICE -> addressOrOffset;
            case STAGED -> staging.stagingBase() + addressOrOffset;
        };
    }

    boolean isAbsent() {
        return kind == Kind.ABSENT;
    }

    /** The kernels' element type codes: float types by their ElementType ordinal, int32 data as 0 (unused). */
    static int typeCode(ElementType type) {
        return switch (type) {
            case FLOAT32, INT32 -> 0;
            case BFLOAT16 -> 1;
            case FLOAT16 -> 2;
        };
    }
}
