package org.losskit.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * A quick, JMH-free comparison of FastExp and VectorOperators.EXP inside a softmax sum loop, used to choose the exp
 * of the kernels (the JMH benchmark in bench is the one to quote). Run:
 * {@code java --add-modules jdk.incubator.vector -cp <test classpath> org.losskit.cpu.ExpComparison}
 */
public final class ExpComparison {
    private ExpComparison() {}

    private static final float[] STAGE = new float[4096];
    private static final float[] LANES = new float[VectorShapes.lanes()];

    /** The kernels' form: exps staged into an L1-resident array, then summed. */
    static float fast(float[] a, float m) {
        FastExp.expBlock(a, 0, a.length, m, STAGE);
        return SoftmaxRows.sum(STAGE, a.length, LANES);
    }

    static float svml(float[] a, float m) {
        FloatVector acc = FloatVector.zero(VectorShapes.FLOATS);
        for (int i = 0; i < a.length; i += VectorShapes.LANES) {
            acc = acc.add(FloatVector.fromArray(VectorShapes.FLOATS, a, i).sub(m).lanewise(VectorOperators.EXP));
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    public static void main(String[] args) {
        float[] a = new float[4096];
        java.util.SplittableRandom random = new java.util.SplittableRandom(1);
        for (int i = 0; i < a.length; i++) a[i] = (float) random.nextDouble(-20, 0);
        float sink = 0;
        for (int round = 0; round < 5; round++) {
            long t0 = System.nanoTime();
            for (int k = 0; k < 20000; k++) sink += fast(a, 0.5f);
            long t1 = System.nanoTime();
            for (int k = 0; k < 20000; k++) sink += svml(a, 0.5f);
            long t2 = System.nanoTime();
            double n = 20000.0 * a.length;
            System.out.printf("round %d: FastExp %.2f G exp/s, VectorOperators.EXP %.2f G exp/s%n", round, n / (t1 - t0), n / (t2 - t1));
        }
        System.out.println(sink);
    }
}
