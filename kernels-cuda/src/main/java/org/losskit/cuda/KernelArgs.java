package org.losskit.cuda;

import java.util.ArrayList;
import java.util.List;

import jcuda.NativePointerObject;
import jcuda.Pointer;

/**
 * The arguments of one launch, in order, each with its {@link ParamType}. {@link #checkAgainst(Kernel)} refuses a
 * list that does not match the kernel's declared parameters before anything reaches the driver.
 */
final class KernelArgs {
    private final List<ParamType> types = new ArrayList<>();
    private final List<Object> values = new ArrayList<>();

    KernelArgs pointer(long address) {
        return add(ParamType.POINTER, address);
    }

    KernelArgs operand(DeviceOperand operand, StagingAddresses addresses) {
        return pointer(operand.address(addresses));
    }

    KernelArgs i32(int value) {
        return add(ParamType.I32, value);
    }

    KernelArgs i64(long value) {
        return add(ParamType.I64, value);
    }

    KernelArgs f32(float value) {
        return add(ParamType.F32, value);
    }

    private KernelArgs add(ParamType type, Object value) {
        types.add(type);
        values.add(value);
        return this;
    }

    List<ParamType> types() {
        return List.copyOf(types);
    }

    List<Object> values() {
        return List.copyOf(values);
    }

    /** Throws when these arguments do not have the kernel's parameter types, in order. */
    KernelArgs checkAgainst(Kernel kernel) {
        if (!types.equals(kernel.parameters())) {
            throw new IllegalStateException("arguments for " + kernel.entry() + " have types " + types
                    + " but the kernel takes " + kernel.parameters());
        }
        return this;
    }

    /** The kernelParams array of cuLaunchKernel: a pointer to each argument's value. */
    Pointer kernelParameters() {
        NativePointerObject[] pointers = new NativePointerObject[values.size()];
        for (int i = 0; i < pointers.length; i++) {
            pointers[i] = switch (values.get(i)) {
                case Long v -> Pointer.to(new long[] {v});
                case Integer v -> Pointer.to(new int[] {v});
                case Float v -> Pointer.to(new float[] {v});
                default -> throw new IllegalStateException("unexpected argument " + values.get(i));
            };
        }
        return Pointer.to(pointers);
    }
}
