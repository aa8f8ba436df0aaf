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

    /** {@link SoftmaxRows#sumExp}: the statistics pass's sum of {@code exp(a_i - m)} over one block. */
    public static double sumExp(float[] a, int off, int n, float m, float[] lanes) {
        return SoftmaxRows.sumExp(a, off, n, m, lanes);
    }

    /** {@link FastExp#expBlock} with its sum: {@code out[i] = exp(in[i] - shift)} (nothing written when out is null). */
    public static float expBlockSum(float[] in, int n, float shift, float[] out, float[] lanes) {
        return FastExp.expBlock(in, 0, n, shift, out, 0, lanes);
    }

    /** {@link SoftmaxRows#shiftMax}: the statistics pass's max of a block, a compare and a blend a vector. */
    public static float shiftMax(float[] a, int n, float[] lanes) {
        return SoftmaxRows.shiftMax(a, 0, n, lanes);
    }

    /** {@link SoftmaxRows#max}: the max of a block with Math.max semantics (NaN first, +0 over -0). */
    public static float exactMax(float[] a, int n, float[] lanes) {
        return SoftmaxRows.max(a, 0, n, lanes);
    }

    /** {@link SoftmaxRows#scaleBlock}: the gradient pass over stored exps, {@code g = g factor + addend}. */
    public static void scaleBlock(float[] g, int n, float factor, float addend) {
        SoftmaxRows.scaleBlock(g, 0, n, factor, addend);
    }

    /** Lanes of the kernels' float vectors (the length of a {@code lanes} array). */
    public static int lanes() {
        return VectorShapes.LANES;
    }

    /** {@link SoftmaxRows#sum}: the kernels' float sum of {@code a[0, n)}, lanes added in a fixed order. */
    public static float sum(float[] a, int n, float[] lanes) {
        return SoftmaxRows.sum(a, n, lanes);
    }
}
