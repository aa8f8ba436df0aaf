package org.losskit.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Every constant that touches the Vector API, in one class loaded only after {@link VectorProvider#probe()} found
 * the module. The width is {@link FloatVector#SPECIES_PREFERRED} unless the test-only system property
 * {@value #WIDTH_PROPERTY} (128, 256 or 512) asks for another, so the same tests run at every width on one machine.
 * It is read once, here, into static finals the JIT treats as constants.
 */
public final class VectorShapes {
    /** Test-only: force the vector width in bits. */
    public static final String WIDTH_PROPERTY = "losskit.cpu.vectorBits";

    static final VectorSpecies<Float> FLOATS = chooseFloatSpecies();
    static final int LANES = FLOATS.length();
    /** Doubles in half a float vector: a float vector widens into two of these. */
    static final VectorSpecies<Double> DOUBLES = VectorSpecies.of(double.class, VectorShape.forBitSize(FLOATS.vectorBitSize()));
    /** Ints of the same width, for building exponents. */
    static final VectorSpecies<Integer> INTS = VectorSpecies.of(int.class, VectorShape.forBitSize(FLOATS.vectorBitSize()));
    /** Shorts of half the width: one load of these widens to one float vector (bf16, fp16). */
    static final VectorSpecies<Short> HALF_SHORTS = VectorSpecies.of(short.class, VectorShape.forBitSize(Math.max(64, FLOATS.vectorBitSize() / 2)));

    private VectorShapes() {}

    private static VectorSpecies<Float> chooseFloatSpecies() {
        String forced = System.getProperty(WIDTH_PROPERTY);
        if (forced == null || forced.isBlank()) return FloatVector.SPECIES_PREFERRED;
        int bits;
        try {
            bits = Integer.parseInt(forced.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(WIDTH_PROPERTY + " must be 128, 256 or 512, got '" + forced + "'", e);
        }
        if (bits != 128 && bits != 256 && bits != 512) {
            throw new IllegalArgumentException(WIDTH_PROPERTY + " must be 128, 256 or 512, got " + bits);
        }
        return VectorSpecies.of(float.class, VectorShape.forBitSize(bits));
    }

    /** Bits of the float vectors the kernels use; called by the provider's probe through reflection. */
    public static int vectorBits() {
        return FLOATS.vectorBitSize();
    }

    /** Lanes of the float vectors. */
    public static int lanes() {
        return LANES;
    }
}
