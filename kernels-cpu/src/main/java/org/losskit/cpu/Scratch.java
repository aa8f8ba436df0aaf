package org.losskit.cpu;

import org.losskit.Matrix;

/**
 * Per-thread working memory, allocated once per thread and reused by every call: block buffers for widened inputs
 * and staged outputs, the class weights of the last call expanded to a float array, and the frame that carries the
 * arguments of the thread's calls to the workers.
 */
final class Scratch {
    private static final java.util.concurrent.atomic.AtomicLong CREATED = new java.util.concurrent.atomic.AtomicLong();

    /** How many scratches this JVM has created (tests check that calling threads do not each keep one). */
    static long created() {
        return CREATED.get();
    }

    Scratch() {
        CREATED.incrementAndGet();
    }

    final float[] input = new float[Blocks.SIZE];
    final float[] target = new float[Blocks.SIZE];
    final float[] weight = new float[Blocks.SIZE];
    final float[] gradient = new float[Blocks.SIZE];
    final float[] losses = new float[Blocks.SIZE];
    final float[] capped = new float[Blocks.SIZE];
    final float[] extra = new float[Blocks.SIZE];
    final float[] stageE = new float[Blocks.SIZE];
    final float[] stageLog1p = new float[Blocks.SIZE];
    final float[] stageSigmoid = new float[Blocks.SIZE];
    final float[] stageSigmoidOfNegative = new float[Blocks.SIZE];
    final float[] stageExp = new float[Blocks.SIZE];
    final float[] stageLog = new float[Blocks.SIZE];
    final float[] stageLogTarget = new float[Blocks.SIZE];
    final float[] stageValue = new float[Blocks.SIZE];
    /** Elements of a block an element kernel computes again in double (ElementKernels.Block#redo). */
    final int[] redo = new int[Blocks.SIZE];
    final float[] stageSlope = new float[Blocks.SIZE];
    /** Column weights of 1, for losses called without them (one code path, no vector chosen by a branch). */
    final float[] ones = filled(Blocks.SIZE, 1f);
    /** One vector's lanes, for fixed-order lane sums ({@link Lanes}). */
    final float[] lanes = new float[VectorShapes.LANES];
    final double[] doubleLanes = new double[VectorShapes.LANES];
    /** Two sums returned by the margin loops. */
    final float[] marginSums = new float[2];

    /** Holders for one block of an element kernel and for its zero-padded last vector. */
    final ElementKernels.Block block = new ElementKernels.Block();
    final ElementKernels.Block tailBlock = new ElementKernels.Block();

    /** The arguments of this thread's calls ({@link Chunks#frame}). */
    final CallFrame frame = new CallFrame();

    /** Second result of a block lookup (the offset into the returned array), so lookups allocate nothing. */
    final int[] offset = new int[1];

    /** Tail buffers: the last partial vector of a range, zero-padded to a full vector. */
    final float[][] tail = new float[8][VectorShapes.LANES];

    /** Results of {@link SoftmaxRows#statistics}: the row's max logit m and sum_c exp(z_c - m). */
    float rowMax;
    double rowSumExp;
    float rowTargetLogit;
    /** Whether {@link ShortRows#crossEntropyRow} handled its row (false: the row has no finite max). */
    boolean shortRowDone;
    /** {@link SoftmaxRows#statisticsStoringExps}: sum_{c != target} exp(z_c - m). */
    double rowOthers;
    /** Per block of a row, its max logit and its sum of stored exps ({@link SoftmaxRows#statisticsStoringExps}). */
    private float[] blockMaxima = new float[64];
    float[] blockOthers = new float[64];
    /** {@link ShortRows#crossEntropyChunk}'s group of rows, one to a lane: the gathered columns, then their exps. */
    final float[] groupColumns = new float[ShortRows.MAX_CLASSES * VectorShapes.LANES];
    /** Per lane (row) of a group: gather offsets, targets, and the per-row results of the vector passes. */
    final int[] groupIndex = new int[VectorShapes.LANES];
    final int[] groupTarget = new int[VectorShapes.LANES];
    final int[] groupTargetIndex = new int[VectorShapes.LANES];
    final byte[] groupRowKind = new byte[VectorShapes.LANES];
    final float[] groupMax = new float[VectorShapes.LANES];
    final float[] groupTargetLogit = new float[VectorShapes.LANES];
    final float[] groupGap = new float[VectorShapes.LANES];
    final float[] groupSum = new float[VectorShapes.LANES];
    final float[] groupLogSum = new float[VectorShapes.LANES];
    final float[] groupOthers = new float[VectorShapes.LANES];
    final float[] groupTargetExp = new float[VectorShapes.LANES];
    final float[] groupCoefP = new float[VectorShapes.LANES];
    final float[] groupTargetGradient = new float[VectorShapes.LANES];
    final float[] groupLoss = new float[VectorShapes.LANES];
    /** Results of {@link SoftmaxRows#probabilityTerms}. */
    double probabilityMass;
    double probabilityGap;

    /** The per-block arrays for rows of {@code blocks} blocks, grown (rarely: 64 blocks is a row of 131072). */
    float[] blockMaxima(int blocks) {
        if (blockMaxima.length < blocks) {
            blockMaxima = new float[blocks];
            blockOthers = new float[blocks];
        }
        return blockMaxima;
    }

    private Matrix weightsSource;
    private float[] weights = new float[0];

    /**
     * {@code weights} (a read-only vector from the options) as a float array, or null for null. Options are immutable,
     * so the expansion of the last weights seen is kept and reused while the same options object comes back.
     */
    float[] weights(Matrix source) {
        if (source == null) return null;
        if (source != weightsSource) {
            int n = Math.toIntExact(source.size());
            if (weights.length != n) weights = new float[n];
            for (int i = 0; i < n; i++) weights[i] = source.getFloat(i);
            weightsSource = source;
        }
        return weights;
    }

    private static float[] filled(int n, float value) {
        float[] a = new float[n];
        java.util.Arrays.fill(a, value);
        return a;
    }
}
