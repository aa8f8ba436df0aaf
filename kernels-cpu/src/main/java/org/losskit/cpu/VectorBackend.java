package org.losskit.cpu;

import org.losskit.CrossEntropyOptions;
import org.losskit.DiceOptions;
import org.losskit.GaussianNllOptions;
import org.losskit.KlDivOptions;
import org.losskit.LossOutputs;
import org.losskit.Matrix;
import org.losskit.MultiMarginOptions;
import org.losskit.NllOptions;
import org.losskit.Op;
import org.losskit.Penalty;
import org.losskit.PointwiseLoss;
import org.losskit.ReduceOp;
import org.losskit.Reduction;
import org.losskit.SoftmaxFocalOptions;
import org.losskit.spi.EngineSettings;
import org.losskit.spi.LossBackend;
import org.losskit.spi.WeightedMeanDivisor;

/**
 * The Vector API backend: every op of the catalogue in float32 SIMD loops, rows (or element ranges) split across
 * the engine's threads in a fixed partition ({@link Chunks}), so results are the same bits for any thread count.
 * Semantics are those of {@link org.losskit.reference.ReferenceBackend}; the engine validated every argument.
 *
 * <p>Softmax losses use the row statistics m = max z and S = sum exp(z - m) of {@link SoftmaxRows}; in terms of
 * those, {@code lse = m + log S}, {@code lse - z_y = (m - z_y) + log S} (no cancellation against a large lse) and
 * {@code p_c = exp(z_c - m) / S}. The gradient of the target column, {@code p_y - 1}, is computed as
 * {@code -sum_{c != y} p_c}, which keeps its relative accuracy when the prediction is confident.
 */
public final class VectorBackend implements LossBackend {
    private final Chunks chunks;

    public VectorBackend(EngineSettings settings) {
        this.chunks = new Chunks(settings.parallelism());
    }

    @Override
    public String name() {
        return VectorProvider.NAME;
    }

    @Override
    public String description() {
        return "Vector API, " + VectorShapes.vectorBits() + "-bit, " + chunks.parallelism() + " thread"
                + (chunks.parallelism() == 1 ? "" : "s");
    }

    @Override
    public boolean supports(Op op) {
        return true;
    }

    @Override
    public void close() {
        chunks.close();
    }

    /**
     * Runs {@code rowWork} over every row of {@code call.input} in fixed chunks of whole rows; returns the sum of the
     * row results in row order. Ends the call.
     */
    private double overRows(CallFrame call, RowWork rowWork) {
        return overRows(call, rowWork, VectorBackend::rowChunk);
    }

    /** {@link #overRows(CallFrame, RowWork)} with {@code chunkWork} for a chunk of rows in place of {@link #rowChunk}. */
    private double overRows(CallFrame call, RowWork rowWork, Chunks.Work chunkWork) {
        call.rowWork = rowWork;
        int rows = call.input.rows();
        int cols = call.input.cols();
        return chunks.run(Chunks.count(rows, Chunks.rowsPerChunk(cols)), Chunks.rowWork(rows, cols), chunkWork, call);
    }

    /** The sum of the row results of one chunk of rows. */
    private static double rowChunk(CallFrame call, int chunk, Scratch s) {
        int per = Chunks.rowsPerChunk(call.input.cols());
        int from = chunk * per;
        int to = Math.min(call.input.rows(), from + per);
        double partial = 0;
        for (int r = from; r < to; r++) partial += call.rowWork.row(call, r, s);
        return partial;
    }

    /** The frame of a row loss call: its inputs, options, outputs, gradient target and gradient scale. */
    private CallFrame rowLoss(Matrix input, Matrix target, Object options, LossOutputs out, double scale) {
        Matrix grad = out.gradientTarget(input);
        CallFrame call = chunks.frame();
        call.input = input;
        call.target = target;
        call.options = options;
        call.out = out;
        call.grad = grad;
        call.scale = scale;
        return call;
    }

    /**
     * A row loss whose mean divides by the row count: runs {@code rowWork} over every row with the reduction's
     * gradient scale and returns the reduced sum of the row losses.
     */
    private double rowMean(Matrix input, Matrix target, Object options, Reduction reduction, LossOutputs out, RowWork rowWork) {
        int rows = input.rows();
        CallFrame call = rowLoss(input, target, options, out, reduction.gradientScale(rows, rows));
        return reduction.reduce(overRows(call, rowWork), rows, rows);
    }

    /** The work of row {@code r} of the call whose arguments are in {@code call}; a static method, capturing nothing. */
    @FunctionalInterface
    interface RowWork {
        double row(CallFrame call, int r, Scratch s);
    }


    private static double sum(float[] weights, int count) {
        if (weights == null) return count;
        double total = 0;
        for (float w : weights) total += w;
        return total;
    }

    // ============================================================================ softmax cross-entropy

    @Override
    public double crossEntropy(Matrix logits, Matrix targets, CrossEntropyOptions o, LossOutputs out) {
        int rows = logits.rows();
        int classes = logits.cols();
        // PyTorch's mean: divide by the summed target-class weight of the rows that are not ignored.
        WeightedMeanDivisor divisor = WeightedMeanDivisor.of(targets, o.ignoreIndex(), o.classWeights());
        double scale = divisor.gradientScale(o.reduction(), rows);
        boolean shortRows = classes <= ShortRows.MAX_CLASSES && !out.wantsDiagnostics();
        CallFrame call = rowLoss(logits, targets, o, out, scale);
        call.weightSum = sum(call.scratch.weights(o.classWeights()), classes);
        call.shortRows = shortRows;
        // Short rows a lane each where the group kernel applies; its rows give the same bits as the row path.
        double total = shortRows && ShortRows.groupApplies(logits, call.grad, (float) o.softcap())
                ? overRows(call, VectorBackend::shortOrGeneralCrossEntropyRow, ShortRows::crossEntropyChunk)
                : overRows(call, VectorBackend::shortOrGeneralCrossEntropyRow);
        return divisor.reduce(o.reduction(), total, rows, o.allIgnoredMeanIsZero());
    }

    /** One row of {@link #crossEntropy}: the short-row kernel where it applies, else the general row. */
    private static double shortOrGeneralCrossEntropyRow(CallFrame call, int r, Scratch s) {
        Matrix logits = call.input;
        Matrix targets = call.target;
        CrossEntropyOptions o = (CrossEntropyOptions) call.options;
        LossOutputs out = call.out;
        if (call.shortRows) {
            int y = targets.getInt(r);
            if (y != o.ignoreIndex()) {
                double loss = ShortRows.crossEntropyRow(logits, r, y, (float) o.softcap(), s.weights(o.classWeights()),
                        call.weightSum, o.labelSmoothing(), o.zLoss(), call.scale, call.grad, s);
                if (s.shortRowDone) {
                    if (out.losses() != null) out.losses().setFloat(r, (float) loss);
                    return loss;
                }
            }
        }
        return crossEntropyRow(logits, targets, o, out, call.grad, r, call.scale, call.weightSum, s);
    }

    /**
     * One row: loss = (1-e) w_y (lse - z_y) + (e/C) sum_c w_c (lse - z_c) + lambda lse^2, and
     * dL/dz_c = (1-e) w_y (p_c - [c = y]) + (e/C)(W p_c - w_c) + 2 lambda lse p_c, times softcap'(x_c) and the
     * reduction's scale. Written as g_c = slope_c (e_c coefP - coefW w_c) for c != y with e_c = exp(z_c - m),
     * coefP = scale A / S, A = (1-e) w_y + (e/C) W + 2 lambda lse, coefW = scale e / C.
     * Everything that reads the logits runs before the pass that first writes the gradient, which may overwrite them:
     * the gradient pass, or on the stored-exp path ({@link SoftmaxRows#statisticsStoringExps}) the statistics pass.
     */
    private static double crossEntropyRow(Matrix logits, Matrix targets, CrossEntropyOptions o, LossOutputs out, Matrix grad,
                                          int r, double scale, double weightSum, Scratch s) {
        int classes = logits.cols();
        int y = targets.getInt(r);
        boolean ignored = y == o.ignoreIndex();
        float cap = (float) o.softcap();
        float[] weights = s.weights(o.classWeights());
        double e = o.labelSmoothing();
        // Smoothing's gap sum and the diagnostics read the logits after the statistics pass.
        boolean storeExps = !ignored && SoftmaxRows.canStoreExps(logits, grad, cap, e > 0 || out.wantsDiagnostics());
        SoftmaxRows.statisticsFor(logits, grad, r, cap, ignored ? -1 : y, storeExps, s);
        float m = s.rowMax;
        double sumExp = s.rowSumExp;
        double logS = Math.log(sumExp);
        double lse = m == Float.NEGATIVE_INFINITY ? m : m + logS;
        float zy = ignored ? 0f : s.rowTargetLogit;
        writeDiagnostics(logits, out, r, cap, m, sumExp, lse, ignored ? Float.NaN : zy, ignored, s);
        if (ignored) {
            if (out.losses() != null) out.losses().setFloat(r, 0f);
            if (grad != null) Blocks.zero(grad, r, 0, classes);
            return 0;
        }
        double lambda = o.zLoss();
        double wy = weights == null ? 1 : weights[y];
        double loss = (1 - e) * wy * ((m - (double) zy) + logS);
        if (e > 0) {
            // sum_c w_c (lse - z_c) = W log S + sum_c w_c (m - z_c)
            loss += e / classes * (weightSum * logS + SoftmaxRows.weightedGapToMax(logits, r, cap, weights, m, s));
        }
        if (lambda > 0) loss += lambda * lse * lse;
        if (out.losses() != null) out.losses().setFloat(r, (float) loss);
        if (grad != null) {
            double a = (1 - e) * wy + e / classes * weightSum + 2 * lambda * lse;
            float coefW = (float) (scale * e / classes);
            double others = SoftmaxRows.gradientAfter(logits, grad, r, cap, m, scale * a / sumExp, coefW, weights, y, storeExps, s)
                    / sumExp;
            double py = Math.exp((double) zy - m) / sumExp;
            // g_y with p_y - 1 = -sum_{c != y} p_c
            double gy = -(1 - e) * wy * others + e / classes * (weightSum * py - wy) + 2 * lambda * lse * py;
            grad.setFloat(r, y, (float) (scale * gy * SoftmaxRows.capSlope(zy, cap)));
        }
        return loss;
    }

    /** The per-row diagnostics the caller asked for; {@code zy} is NaN when there is no target. */
    private static void writeDiagnostics(Matrix logits, LossOutputs out, int r, float cap, float m, double sumExp, double lse,
                                         float zy, boolean noTarget, Scratch s) {
        if (!out.wantsDiagnostics()) return;
        if (out.logSumExp() != null) out.logSumExp().setFloat(r, (float) lse);
        if (out.maxLogit() != null || out.argmax() != null) {
            float rawMax = cap > 0 ? SoftmaxRows.rawMax(logits, r, s) : m;
            if (out.maxLogit() != null) out.maxLogit().setFloat(r, rawMax);
            if (out.argmax() != null) out.argmax().setInt(r, SoftmaxRows.argmax(logits, r, rawMax, s));
        }
        if (out.targetProbability() != null) {
            out.targetProbability().setFloat(r, noTarget ? Float.NaN : (float) (Math.exp((double) zy - m) / sumExp));
        }
        if (out.entropy() != null) out.entropy().setFloat(r, (float) SoftmaxRows.entropy(logits, r, cap, m, sumExp, s));
    }

    @Override
    public double crossEntropyProbs(Matrix logits, Matrix targetProbs, CrossEntropyOptions o, LossOutputs out) {
        return rowMean(logits, targetProbs, o, o.reduction(), out, VectorBackend::crossEntropyProbsRow);
    }

    /** One row of {@link #crossEntropyProbs}. */
    private static double crossEntropyProbsRow(CallFrame call, int r, Scratch s) {
        Matrix logits = call.input;
        Matrix targetProbs = call.target;
        CrossEntropyOptions o = (CrossEntropyOptions) call.options;
        LossOutputs out = call.out;
        Matrix grad = call.grad;
        double scale = call.scale;
        float cap = (float) o.softcap();
        float[] weights = s.weights(o.classWeights());
        float e = (float) o.labelSmoothing();
        double lambda = o.zLoss();
        SoftmaxRows.statistics(logits, r, cap, -1, s);
        float m = s.rowMax;
        double sumExp = s.rowSumExp;
        double logS = Math.log(sumExp);
        double lse = m == Float.NEGATIVE_INFINITY ? m : m + logS;
        writeDiagnostics(logits, out, r, cap, m, sumExp, lse, Float.NaN, true, s);
        // loss = sum_c w_c q'_c (lse - z_c) + lambda lse^2 = M log S + T + lambda lse^2
        SoftmaxRows.probabilityTerms(logits, targetProbs, r, cap, weights, m, e, s);
        double mass = s.probabilityMass;
        double loss = mass * logS + s.probabilityGap + (lambda > 0 ? lambda * lse * lse : 0);
        if (out.losses() != null) out.losses().setFloat(r, (float) loss);
        if (grad != null) {
            // dL/dz_j = p_j (M + 2 lambda lse) - w_j q'_j, times softcap' and scale
            SoftmaxRows.probabilityGradient(logits, targetProbs, grad, r, cap, weights, m, e, (float) (mass / sumExp),
                    (float) scale, lambda > 0 ? (float) (scale * 2 * lambda * lse / sumExp) : 0f, s);
        }
        return loss;
    }

    @Override
    public double nll(Matrix logProbs, Matrix targets, NllOptions o, LossOutputs out) {
        int rows = logProbs.rows();
        // PyTorch's mean: divide by the summed target-class weight of the rows that are not ignored.
        WeightedMeanDivisor divisor = WeightedMeanDivisor.of(targets, o.ignoreIndex(), o.classWeights());
        double scale = divisor.gradientScale(o.reduction(), rows);
        CallFrame call = rowLoss(logProbs, targets, o, out, scale);
        double total = overRows(call, VectorBackend::nllRow);
        return divisor.reduce(o.reduction(), total, rows, o.allIgnoredMeanIsZero());
    }

    /** One row of {@link #nll}: loss = -w_y logp_y; dL/dlogp_c = -w_y [c = y] (gathers, nothing to vectorise but the zeroing). */
    private static double nllRow(CallFrame call, int r, Scratch s) {
        Matrix logProbs = call.input;
        NllOptions o = (NllOptions) call.options;
        Matrix grad = call.grad;
        int y = call.target.getInt(r);
        boolean ignored = y == o.ignoreIndex();
        double wy = ignored ? 0 : o.classWeight(y);
        double loss = ignored ? 0 : -wy * logProbs.getFloat(r, y);
        if (call.out.losses() != null) call.out.losses().setFloat(r, (float) loss);
        if (grad != null) {
            Blocks.zero(grad, r, 0, logProbs.cols());
            if (!ignored) grad.setFloat(r, y, (float) (-wy * call.scale));
        }
        return loss;
    }

    @Override
    public double softmaxFocal(Matrix logits, Matrix targets, SoftmaxFocalOptions o, LossOutputs out) {
        return rowMean(logits, targets, o, o.reduction(), out, VectorBackend::softmaxFocalRow);
    }

    /** One row of {@link #softmaxFocal}. */
    private static double softmaxFocalRow(CallFrame call, int r, Scratch s) {
        Matrix logits = call.input;
        SoftmaxFocalOptions o = (SoftmaxFocalOptions) call.options;
        Matrix grad = call.grad;
        double gamma = o.gamma();
        int y = call.target.getInt(r);
        boolean storeExps = SoftmaxRows.canStoreExps(logits, grad, 0f, false);
        SoftmaxRows.statisticsFor(logits, grad, r, 0f, y, storeExps, s);
        float m = s.rowMax;
        double sumExp = s.rowSumExp;
        double a = o.alphaOf(y);
        float zy = s.rowTargetLogit;
        double py = Math.exp((double) zy - m) / sumExp;
        double logPy = (zy - (double) m) - Math.log(sumExp);
        // loss = -a (1 - p_y)^gamma log p_y
        double focus = Math.pow(1 - py, gamma);
        double loss = -a * focus * logPy;
        if (call.out.losses() != null) call.out.losses().setFloat(r, (float) loss);
        if (grad != null) {
            // dL/dz_j = a inner (p_j - [j = y]), inner = (1-p)^g - g (1-p)^(g-1) p log p
            double inner = focus - (gamma == 0 ? 0 : gamma * Math.pow(1 - py, gamma - 1) * py * logPy);
            double coef = call.scale * a * inner;
            double others = SoftmaxRows.gradientAfter(logits, grad, r, 0f, m, coef / sumExp, 0f, null, y, storeExps, s) / sumExp;
            grad.setFloat(r, y, (float) (-coef * others));
        }
        return loss;
    }

    @Override
    public double multiMargin(Matrix input, Matrix targets, MultiMarginOptions o, LossOutputs out) {
        return rowMean(input, targets, o, o.reduction(), out, VectorBackend::multiMarginRow);
    }

    /** One row of {@link #multiMargin}. */
    private static double multiMarginRow(CallFrame call, int r, Scratch s) {
        Matrix input = call.input;
        MultiMarginOptions o = (MultiMarginOptions) call.options;
        int y = call.target.getInt(r);
        float wy = (float) o.classWeight(y);
        float xy = input.getFloat(r, y);
        double loss = RowKernels.multiMarginRow(input, call.grad, r, y, xy, wy, o.p(), (float) o.margin(), (float) call.scale, s);
        if (call.out.losses() != null) call.out.losses().setFloat(r, (float) loss);
        return loss;
    }

    @Override
    public double dice(Matrix logits, Matrix target, DiceOptions o, LossOutputs out) {
        return rowMean(logits, target, o, o.reduction(), out, VectorBackend::diceRow);
    }

    /** One row of {@link #dice}. */
    private static double diceRow(CallFrame call, int r, Scratch s) {
        double loss = RowKernels.diceRow(call.input, call.target, call.grad, r, ((DiceOptions) call.options).smooth(), call.scale, s);
        if (call.out.losses() != null) call.out.losses().setFloat(r, (float) loss);
        return loss;
    }

    // ============================================================================ element losses

    /**
     * Runs the element kernel set in {@code call.kernel} over every element of {@code input} in fixed flat chunks;
     * returns the summed loss. Ends the call.
     */
    private double overElements(CallFrame call, Matrix input, Matrix target, Matrix weight, Matrix third, Matrix grad,
                                Matrix losses, double scale) {
        call.input = input;
        call.target = target;
        call.weight = weight;
        call.extra = third;
        call.grad = grad;
        call.losses = losses;
        call.scale = scale;
        long n = input.size();
        return chunks.run(Chunks.count(n, Chunks.TARGET_ELEMENTS), n, VectorBackend::elementChunk, call);
    }

    /** The summed loss of one chunk of elements. */
    private static double elementChunk(CallFrame call, int chunk, Scratch s) {
        long per = Chunks.TARGET_ELEMENTS;
        long n = call.input.size();
        return ElementKernels.range(call.kernel, call.input, call.target, call.weight, call.extra, call.grad, call.losses,
                chunk * per, Math.min(n, (chunk + 1) * per), (float) call.scale, s);
    }

    @Override
    public double pointwise(PointwiseLoss loss, Matrix input, Matrix target, Matrix weight, LossOutputs out) {
        long n = input.size();
        double scale = loss.reduction().gradientScale(n, input.rows());
        CallFrame call = chunks.frame();
        ElementKernels.of(loss, call.kernel);
        double total = overElements(call, input, target, weight, null, out.gradientTarget(input), out.losses(), scale);
        return loss.reduction().reduce(total, n, input.rows());
    }

    @Override
    public double klDiv(Matrix input, Matrix target, KlDivOptions o, LossOutputs out) {
        long n = input.size();
        double scale = o.reduction().gradientScale(n, input.rows());
        CallFrame call = chunks.frame();
        ElementKernels.klDiv(o, call.kernel);
        double total = overElements(call, input, target, null, null, out.gradientTarget(input), out.losses(), scale);
        return o.reduction().reduce(total, n, input.rows());
    }

    @Override
    public double gaussianNll(Matrix input, Matrix target, Matrix variance, GaussianNllOptions o, LossOutputs out) {
        long n = input.size();
        double scale = o.reduction().gradientScale(n, input.rows());
        CallFrame call = chunks.frame();
        ElementKernels.gaussianNll(o, call.kernel);
        double total = overElements(call, input, target, null, variance, out.gradientTarget(input), out.losses(), scale);
        return o.reduction().reduce(total, n, input.rows());
    }

    @Override
    public double penalty(Penalty penalty, Matrix parameters, Matrix gradient) {
        // value = strength (l1Share sum|w| + (1 - l1Share) 0.5 sum w^2); gradient strength (l1Share sign w + (1 - l1Share) w)
        double l1Share = penalty.l1Share();
        double strength = penalty.strength();
        CallFrame call = chunks.frame();
        ElementKernels.penalty(l1Share, call.kernel);
        double total = overElements(call, parameters, null, null, null, gradient, null, strength);
        return strength * total;
    }

    // ============================================================================ reductions

    @Override
    public double reduce(ReduceOp op, Matrix x) {
        return Reductions.whole(op, x, chunks);
    }

    @Override
    public void reduceRows(ReduceOp op, Matrix x, Matrix out) {
        CallFrame call = chunks.frame();
        call.input = x;
        call.options = op;
        call.rowResults = out;
        overRows(call, VectorBackend::reduceRow);
    }

    /** One row of {@link #reduceRows}. */
    private static double reduceRow(CallFrame call, int r, Scratch s) {
        call.rowResults.setFloat(r, (float) Reductions.row((ReduceOp) call.options, call.input, r, s));
        return 0;
    }

    @Override
    public long argmax(Matrix x) {
        CallFrame call = chunks.frame();
        call.input = x;
        return (long) chunks.run(1, 0, (c, chunk, s) -> Reductions.argmax(c.input, s), call); // an index < 2^53: exact
    }

    @Override
    public void argmaxRows(Matrix x, Matrix out) {
        CallFrame call = chunks.frame();
        call.input = x;
        call.rowResults = out;
        overRows(call, VectorBackend::argmaxRow);
    }

    /** One row of {@link #argmaxRows}. */
    private static double argmaxRow(CallFrame call, int r, Scratch s) {
        Matrix x = call.input;
        call.rowResults.setInt(r, SoftmaxRows.argmax(x, r, SoftmaxRows.rawMax(x, r, s), s));
        return 0;
    }

    @Override
    public double dot(Matrix a, Matrix b) {
        return Reductions.dot(a, b, chunks);
    }
}
