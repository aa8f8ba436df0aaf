package org.losskit.cpu;

import static org.losskit.cpu.VectorShapes.FLOATS;
import static org.losskit.cpu.VectorShapes.LANES;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

import org.losskit.CrossEntropyOptions;
import org.losskit.Matrix;

/**
 * Softmax cross-entropy of rows of at most {@link #MAX_CLASSES} classes, where the block machinery of
 * {@link SoftmaxRows} (vector set-up, staging calls, lane sums) costs more than the arithmetic. Two paths with the
 * maths of the generic row ({@code VectorBackend#crossEntropyRow}): {@link #crossEntropyChunk} runs groups of
 * {@link VectorShapes#LANES} rows, one row to a vector lane, the vector width across rows instead of along them;
 * {@link #crossEntropyRow} runs one row in a plain scalar float loop per pass (one {@code Math.log} per row, every
 * exp through {@link FastExp#expNonPositive}, the target's {@code p_y = e_y / S} from the same staged exps), for the
 * rows the groups leave and the calls they do not take.
 *
 * <p>Only rows with a finite max take this path; a row with NaN, +inf or only -inf goes through the generic row,
 * which spells out those limits. Calls that ask for diagnostics go through the generic row too: they read the
 * logits again, which must happen before an in-place gradient overwrites them, and reuse the staging arrays.
 */
final class ShortRows {
    /** Rows of at most this many classes use this loop (a few vectors at most; measured faster up to here). */
    static final int MAX_CLASSES = 64;

    /** What the group kernel did with a row ({@link Scratch#groupRowKind}). */
    private static final byte COMPUTED = 0;
    private static final byte IGNORED = 1;
    private static final byte LEFT_TO_ROW_PATH = 2;

    private ShortRows() {}

    /**
     * The rows of one chunk of a cross-entropy call ({@code call}, as {@link VectorBackend} fills it for its rows):
     * groups of {@link VectorShapes#LANES} rows through {@link #crossEntropyGroup}, one row to a vector lane, where
     * {@link #groupApplies} says the group kernel can run; every other row (the chunk's last rows short of a group,
     * rows with a non-finite max) through {@code call.rowWork}, the row-at-a-time path. Returns the chunk's row losses
     * added in row order, as every row path does, so the total is the same bits for any thread count.
     */
    static double crossEntropyChunk(CallFrame call, int chunk, Scratch s) {
        Matrix logits = call.input;
        int rows = logits.rows();
        int per = Chunks.rowsPerChunk(logits.cols());
        int from = chunk * per;
        int to = Math.min(rows, from + per);
        double partial = 0;
        int r = from;
        for (; r + LANES <= to; r += LANES) partial += crossEntropyGroup(call, r, s);
        for (; r < to; r++) partial += call.rowWork.row(call, r, s);
        return partial;
    }

    /**
     * Whether {@link #crossEntropyChunk} applies: rows of at most {@link #MAX_CLASSES} classes in a float32 array, the
     * gradient (if any) in one too, no softcap and no diagnostics (callers check the last two as for the row path).
     */
    static boolean groupApplies(Matrix logits, Matrix grad, float softcap) {
        return softcap == 0 && logits.cols() <= MAX_CLASSES && Blocks.direct(logits) && (grad == null || Blocks.direct(grad));
    }

    /**
     * Rows r0 .. r0 + LANES - 1, one to a lane: the maths of {@link #crossEntropyRow}, with each column of the group
     * one gathered vector. Pass 1 gathers column c of every row into {@code s.groupColumns} and keeps the running max
     * m; pass 2 forms z_c - m and, for label smoothing, {@code sum_c w_c (m - z_c)}; the exps of all columns are one
     * {@link FastExp#expBlock} over the staged group; pass 3 adds S = sum_c e_c and sum_{c != y} e_c in column order
     * (the same bits as the row path so far); log S by one {@link FastLog} vector; every row's loss, coefP and g_y
     * by {@link #rowTerms} in float vectors (the row path forms them in double: within the op's bound, not the same
     * bits); the gradient columns by fma, written out row by row, g_y last. Ignored rows get loss 0 and a zero
     * gradient row, as in the general row; rows whose max or S is not finite are left to {@code call.rowWork} after
     * the group's writes, which spells out those limits.
     */
    private static double crossEntropyGroup(CallFrame call, int r0, Scratch s) {
        Matrix logits = call.input;
        Matrix grad = call.grad;
        CrossEntropyOptions o = (CrossEntropyOptions) call.options;
        int classes = logits.cols();
        int ignoreIndex = o.ignoreIndex();
        float[] weights = s.weights(o.classWeights());
        double smoothing = o.labelSmoothing();
        double zLoss = o.zLoss();
        double scale = call.scale;
        float[] z = logits.floatArray();
        int zBase = (int) Blocks.index(logits, r0, 0);
        int zStride = (int) logits.rowStride();
        int[] zIndex = s.groupIndex;
        int[] target = s.groupTarget;
        int[] targetIndex = s.groupTargetIndex;
        byte[] row = s.groupRowKind;
        for (int l = 0; l < LANES; l++) {
            int y = call.target.getInt(r0 + l);
            boolean ignored = y == ignoreIndex;
            row[l] = ignored ? IGNORED : COMPUTED;
            target[l] = ignored ? 0 : y;
            zIndex[l] = l * zStride;
            targetIndex[l] = l * zStride + target[l];
        }
        // The vector passes, each a method of its own whose vectors stay inside it, so each is a small unit for C2:
        // a loop whose inlined Vector API calls exceed C2's inlining budget gets its vectors boxed.
        float[] columns = s.groupColumns;
        gatherColumns(z, zBase, zIndex, targetIndex, classes, s);
        shiftColumns(columns, classes, weights, s);
        FastExp.expBlock(columns, 0, classes * LANES, 0f, columns);
        addColumns(columns, classes, target, s);
        FastLog.logBlock(s.groupSum, 0, LANES, 0f, s.groupLogSum); // log S of every row at once
        // Which rows the group finishes: not ignored, max and S finite (NaN, +-inf: the row path spells them out).
        float[] rowMax = s.groupMax;
        for (int l = 0; l < LANES; l++) {
            if (row[l] == COMPUTED && !(Math.abs(rowMax[l]) < Float.POSITIVE_INFINITY && Float.isFinite(s.groupSum[l]))) {
                row[l] = LEFT_TO_ROW_PATH;
            }
        }
        rowTerms(classes, weights, smoothing, zLoss, scale, call.weightSum, s);
        float coefW = (float) (scale * smoothing / classes);
        if (grad != null) writeGradient(grad, r0, classes, coefW, weights, s);
        double partial = 0;
        Matrix losses = call.out.losses();
        float[] loss = s.groupLoss;
        for (int l = 0; l < LANES; l++) {
            switch (row[l]) {
                case COMPUTED -> {
                    if (losses != null) losses.setFloat(r0 + l, loss[l]);
                    partial += loss[l];
                }
                case IGNORED -> {
                    if (losses != null) losses.setFloat(r0 + l, 0f);
                    partial += 0;
                }
                default -> partial += call.rowWork.row(call, r0 + l, s);
            }
        }
        return partial;
    }

    /**
     * The row's loss and gradient (when {@code grad} is not null) for target column {@code y}; sets
     * {@code s.shortRowDone}, false (nothing written, the caller runs the generic row) when the row's max logit is
     * not finite.
     */
    static double crossEntropyRow(Matrix logits, int r, int y, float cap, float[] weights, double weightSum,
                                  double smoothing, double zLoss, double scale, Matrix grad, Scratch s) {
        int classes = logits.cols();
        float[] z = SoftmaxRows.logitsBlock(logits, r, 0, classes, cap, s, s.offset);
        int zo = s.offset[0];
        float m = Float.NEGATIVE_INFINITY;
        for (int c = 0; c < classes; c++) m = Math.max(m, z[zo + c]);
        s.shortRowDone = Math.abs(m) < Float.POSITIVE_INFINITY;
        if (!s.shortRowDone) return 0;
        // e_c = exp(z_c - m); S = sum_c e_c, and sum_{c != y} e_c (for g_y = -(1-e) w_y sum_{c != y} p_c + ...)
        float[] e = s.stageE;
        float sumAll = 0;
        float sumOthers = 0;
        for (int c = 0; c < classes; c++) {
            float ec = FastExp.expNonPositive(z[zo + c] - m);
            e[c] = ec;
            sumAll += ec;
            sumOthers += c == y ? 0f : ec;
        }
        double sumExp = sumAll;
        double logS = Math.log(sumExp);
        double lse = m + logS;
        float zy = z[zo + y];
        double wy = weights == null ? 1 : weights[y];
        double loss = (1 - smoothing) * wy * ((m - (double) zy) + logS);
        if (smoothing > 0) {
            // sum_c w_c (lse - z_c) = W log S + sum_c w_c (m - z_c), every term >= 0
            float gap = 0;
            for (int c = 0; c < classes; c++) gap += (weights == null ? 1f : weights[c]) * (m - z[zo + c]);
            loss += smoothing / classes * (weightSum * logS + gap);
        }
        if (zLoss > 0) loss += zLoss * lse * lse;
        if (grad != null) {
            // g_c = slope_c (e_c coefP - coefW w_c) for c != y, as SoftmaxRows.gradient
            double a = (1 - smoothing) * wy + smoothing / classes * weightSum + 2 * zLoss * lse;
            float coefP = (float) (scale * a / sumExp);
            float coefW = (float) (scale * smoothing / classes);
            float[] g = Blocks.array(grad, s.gradient);
            int go = Blocks.writeTarget(grad, r, 0);
            if (cap > 0) {
                float inverseCap = 1f / cap;
                for (int c = 0; c < classes; c++) {
                    float t = z[zo + c] * inverseCap;
                    g[go + c] = Math.fma(e[c], coefP, -coefW * (weights == null ? 1f : weights[c])) * (1 - t * t);
                }
            } else if (weights == null) {
                for (int c = 0; c < classes; c++) g[go + c] = Math.fma(e[c], coefP, -coefW);
            } else {
                for (int c = 0; c < classes; c++) g[go + c] = Math.fma(e[c], coefP, -coefW * weights[c]);
            }
            double py = e[y] / sumExp;
            double others = sumOthers / sumExp;
            // g_y with p_y - 1 = -sum_{c != y} p_c
            double gy = -(1 - smoothing) * wy * others + smoothing / classes * (weightSum * py - wy) + 2 * zLoss * lse * py;
            g[go + y] = (float) (scale * gy * SoftmaxRows.capSlope(zy, cap));
            Blocks.write(grad, r, 0, classes, s.gradient);
        }
        return loss;
    }

    /**
     * Each row's loss, coefP and g_y from the passes' per-row results, sixteen (LANES) rows at once in float, with
     * the formulas of the row path ({@link #crossEntropyRow}): lse = m + log S,
     * {@code loss = (1-e) w_y ((m - z_y) + log S) + (e/C)(W log S + gap) + lambda lse^2},
     * {@code coefP = scale ((1-e) w_y + (e/C) W + 2 lambda lse) / S} and
     * {@code g_y = scale (-(1-e) w_y others / S + (e/C)(W e_y / S - w_y) + 2 lambda lse e_y / S)}. The smoothing
     * term is left out (a mask, not 0 times it) without smoothing, where a -inf logit makes the gap +inf.
     */
    private static void rowTerms(int classes, float[] weights, double smoothing, double zLoss, double scale, double weightSum, Scratch s) {
        FloatVector m = FloatVector.fromArray(FLOATS, s.groupMax, 0);
        FloatVector logS = FloatVector.fromArray(FLOATS, s.groupLogSum, 0);
        FloatVector inverseS = FloatVector.broadcast(FLOATS, 1f).div(FloatVector.fromArray(FLOATS, s.groupSum, 0));
        FloatVector wy = weights == null ? FloatVector.broadcast(FLOATS, 1f) : FloatVector.fromArray(FLOATS, weights, 0, s.groupTarget, 0);
        FloatVector lse = m.add(logS);
        FloatVector keep = wy.mul((float) (1 - smoothing)); // (1-e) w_y
        float perClass = (float) (smoothing / classes);
        float weightTotal = (float) weightSum;
        float twoLambda = (float) (2 * zLoss);
        FloatVector smoothingTerm = logS.mul(weightTotal).add(FloatVector.fromArray(FLOATS, s.groupGap, 0)).mul(perClass)
                .blend(0f, FLOATS.maskAll(smoothing == 0));
        keep.mul(m.sub(FloatVector.fromArray(FLOATS, s.groupTargetLogit, 0)).add(logS)).add(smoothingTerm)
                .add(lse.mul(lse).mul((float) zLoss)).intoArray(s.groupLoss, 0);
        FloatVector zTerm = lse.mul(twoLambda); // 2 lambda lse
        keep.add(perClass * weightTotal).add(zTerm).mul(inverseS).mul((float) scale).intoArray(s.groupCoefP, 0);
        FloatVector py = FloatVector.fromArray(FLOATS, s.groupTargetExp, 0).mul(inverseS);
        FloatVector others = FloatVector.fromArray(FLOATS, s.groupOthers, 0).mul(inverseS);
        keep.neg().mul(others).add(py.mul(weightTotal).sub(wy).mul(perClass)).add(zTerm.mul(py)).mul((float) scale)
                .intoArray(s.groupTargetGradient, 0);
    }

    /**
     * Pass 1: column c of the group's rows into {@code s.groupColumns[c]} by one gather each, the running max
     * {@code s.groupMax} with Math.max semantics (NaN first, +0 over -0, as the row path), and each row's target
     * logit {@code s.groupTargetLogit}.
     */
    private static void gatherColumns(float[] z, int zBase, int[] zIndex, int[] targetIndex, int classes, Scratch s) {
        float[] columns = s.groupColumns;
        FloatVector m = FloatVector.broadcast(FLOATS, Float.NEGATIVE_INFINITY);
        for (int c = 0; c < classes; c++) {
            FloatVector column = FloatVector.fromArray(FLOATS, z, zBase + c, zIndex, 0);
            column.intoArray(columns, c * LANES);
            m = m.max(column);
        }
        m.intoArray(s.groupMax, 0);
        FloatVector.fromArray(FLOATS, z, zBase, targetIndex, 0).intoArray(s.groupTargetLogit, 0);
    }

    /** Pass 2: z_c - m in place, and the smoothing gap sum_c w_c (m - z_c) = -sum_c w_c (z_c - m) into {@code s.groupGap}. */
    private static void shiftColumns(float[] columns, int classes, float[] weights, Scratch s) {
        FloatVector m = FloatVector.fromArray(FLOATS, s.groupMax, 0);
        FloatVector gap = FloatVector.zero(FLOATS);
        for (int c = 0; c < classes; c++) {
            FloatVector shifted = FloatVector.fromArray(FLOATS, columns, c * LANES).sub(m);
            shifted.intoArray(columns, c * LANES);
            gap = gap.sub(shifted.mul(weights == null ? 1f : weights[c]));
        }
        gap.intoArray(s.groupGap, 0);
    }

    /** Pass 3, over the exps: S, sum_{c != y} e_c and e_y of every row, adding in column order as the row path does. */
    private static void addColumns(float[] columns, int classes, int[] target, Scratch s) {
        IntVector targets = IntVector.fromArray(VectorShapes.INTS, target, 0);
        FloatVector sumAll = FloatVector.zero(FLOATS);
        FloatVector sumOthers = FloatVector.zero(FLOATS);
        FloatVector targetExp = FloatVector.zero(FLOATS);
        for (int c = 0; c < classes; c++) {
            FloatVector e = FloatVector.fromArray(FLOATS, columns, c * LANES);
            VectorMask<Float> isTarget = targets.compare(VectorOperators.EQ, c).cast(FLOATS);
            sumAll = sumAll.add(e);
            sumOthers = sumOthers.add(e.blend(0f, isTarget));
            targetExp = targetExp.blend(e, isTarget);
        }
        sumAll.intoArray(s.groupSum, 0);
        sumOthers.intoArray(s.groupOthers, 0);
        targetExp.intoArray(s.groupTargetExp, 0);
    }

    /**
     * The group's gradient rows: g_c = e_c coefP - coefW w_c (the row path's fma) formed column by column in the
     * staged columns, then written out row by row with plain loads and stores (measured faster than a scatter a
     * column); g_y of every computed row last, and a zero row for every ignored one.
     */
    private static void writeGradient(Matrix grad, int r0, int classes, float coefW, float[] weights, Scratch s) {
        float[] columns = s.groupColumns;
        float[] g = grad.floatArray();
        int gBase = (int) Blocks.index(grad, r0, 0);
        int gStride = (int) grad.rowStride();
        FloatVector p = FloatVector.fromArray(FLOATS, s.groupCoefP, 0);
        for (int c = 0; c < classes; c++) {
            FloatVector.fromArray(FLOATS, columns, c * LANES).fma(p, FloatVector.broadcast(FLOATS, -coefW * (weights == null ? 1f : weights[c])))
                    .intoArray(columns, c * LANES);
        }
        byte[] row = s.groupRowKind;
        for (int l = 0; l < LANES; l++) {
            int at = gBase + l * gStride;
            for (int c = 0; c < classes; c++) g[at + c] = columns[c * LANES + l];
            if (row[l] == COMPUTED) g[at + s.groupTarget[l]] = s.groupTargetGradient[l];
            if (row[l] == IGNORED) java.util.Arrays.fill(g, at, at + classes, 0f);
        }
    }
}
