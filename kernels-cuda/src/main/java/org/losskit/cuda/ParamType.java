package org.losskit.cuda;

/** The kernel parameter types losskit uses, each with the PTX type nvcc declares for it. */
enum ParamType {
    /** A device pointer (any {@code T*}). */
    POINTER("u64"),
    /** {@code int}. */
    I32("u32"),
    /** {@code long long}. */
    I64("u64"),
    /** {@code float}. */
    F32("f32");

    private final String ptxType;

    ParamType(String ptxType) {
        this.ptxType = ptxType;
    }

    /** The type in the entry's {@code .param} list ("u64", "u32", "f32"). */
    String ptxType() {
        return ptxType;
    }
}
