package org.losskit.cpu;

/**
 * The kernels' own exp loops as public methods, for the JMH benchmarks in {@code bench} (which run on the class
 * path), so that a benchmark times exactly the code the kernels run and not a copy of it. module-info exports no
 * package of this module, so a module-path user cannot see this class; nothing in losskit calls it.
 */
public final class BenchmarkAccess {
    /** Elements per block of a row, as the softmax kernels read rows ({@link Blocks#SIZE}). */
    public static final int BLOCK_SIZE = Blocks.SIZE;
    /** FastExp's documented error bound in ulps, enforced by FastExpTest. */
    public static final double FAST_EXP_MAX_ULP_ERROR = FastExp.MAX_ULP_ERROR;

    private BenchmarkAccess() {}

    /** {@link FastExp#expBlock}: {@code out[i] = exp(in[off + i] - shift)}, every {@code in - shift <= 0}. */
    public static void expBlock(float[] in, int off, int n, float shift, float[] out) {
        FastExp.expBlock(in, off, n, shift, out);
    }

    /** {@link SoftmaxRows#sumExp}: the statistics pass's sum of {@code exp(a_i - m)} over one block, staged in {@code stage}. */
    public static double sumExp(float[] a, int off, int n, float m, float[] stage, float[] lanes) {
        return SoftmaxRows.sumExp(a, off, n, m, stage, lanes);
    }

    /** {@link SoftmaxRows#sum}: the kernels' float sum of {@code a[0, n)}, lanes added in a fixed order. */
    public static float sum(float[] a, int n, float[] lanes) {
        return SoftmaxRows.sum(a, n, lanes);
    }
}
