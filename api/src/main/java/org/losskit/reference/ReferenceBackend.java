package org.losskit.reference;

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
import org.losskit.SoftmaxFocalOptions;
import org.losskit.spi.LossBackend;
import org.losskit.spi.WeightedMeanDivisor;

/**
 * The oracle: every op of the catalogue in plain scalar Java, accumulated in double, written to be read next to
 * the formulas in DESIGN.md. It is what the fast backends are tested against, not a fast path.
 *
 * <p>Conventions: {@code x}, {@code z} are inputs (logits), {@code t} targets, {@code w} weights; the gradient
 * written is the gradient of the returned value, so every per-element derivative is multiplied by the reduction's
 * {@code scale} (1 for NONE and SUM, 1/n for MEAN, 1/rows for BATCHMEAN). Losses buffers get unreduced values.
 */
public final class ReferenceBackend implements LossBackend {
    private static final double HALF_LOG_TWO_PI = 0.5 * Math.log(2 * Math.PI);

    @Override
    public String name() {
        return ReferenceProvider.NAME;
    }

    @Override
    public String description() {
        return "scalar float64 oracle";
    }

    /** The oracle implements every op of the catalogue. */
    @Override
    public boolean supports(Op op) {
        return true;
    }

    @Override
    public void close() {
        // Nothing to free.
    }

    // ============================================================================ softmax cross-entropy

    /** One row's softmax, computed from (optionally softcapped) logits with a max shift. */
    private static final class SoftmaxRow {
        final double[] z; // logits as the softmax sees them: softcap(x)
        final double[] p; // softmax(z)
        double lse; // log sum exp z
        double max; // m = max z
        double sumExp; // S = sum exp(z - m), in [1, C] for a row with a finite max
        double rawMax; // largest input logit, before softcap
        int argmax; // first column holding rawMax (NaN counts as largest)

        SoftmaxRow(int classes) {
            z = new double[classes];
            p = new double[classes];
        }

        /**
         * softcap: z = c tanh(x / c). Softmax: m = max z, S = sum exp(z - m), lse = m + log S, p = exp(z - m) / S.
         * A row of only -inf has lse = -inf and p = NaN (no distribution), as PyTorch.
         */
        void compute(Matrix x, int r, double softcap) {
            int classes = z.length;
            rawMax = Double.NEGATIVE_INFINITY;
            argmax = classes == 0 ? -1 : 0;
            double m = Double.NEGATIVE_INFINITY;
            boolean sawNaN = false;
            for (int c = 0; c < classes; c++) {
                double v = x.getFloat(r, c);
                if (!sawNaN && (Double.isNaN(v) || v > rawMax)) {
                    rawMax = v;
                    argmax = c;
                    sawNaN = Double.isNaN(v);
                }
                z[c] = softcap > 0 ? softcap * Math.tanh(v / softcap) : v;
                m = Math.max(m, z[c]);
            }
            CompensatedSum sum = new CompensatedSum();
            for (int c = 0; c < classes; c++) sum.add(Math.exp(z[c] - m));
            max = m;
            sumExp = sum.value();
            lse = m == Double.NEGATIVE_INFINITY ? m : m + Math.log(sumExp);
            // p = exp(z - m) / S rather than exp(z - lse): with several tied logits near 1e30, lse rounds to m and
            // exp(z - lse) would give each of them probability 1.
            for (int c = 0; c < classes; c++) p[c] = Math.exp(z[c] - m) / sumExp;
        }

        /**
         * 1 - p_y, without the cancellation of computing it from p_y: with e_c = exp(z_c - m),
         * 1 - p_y = sum_{c != y} e_c / S. For a confident correct row (p_y = 1 - 3e-13) {@code 1 - p[y]} keeps
         * only about three significant digits; this keeps all of them.
         */
        double complement(int y) {
            if (max == Double.NEGATIVE_INFINITY || Double.isNaN(max)) return Double.NaN;
            CompensatedSum others = new CompensatedSum();
            for (int c = 0; c < z.length; c++) if (c != y) others.add(Math.exp(z[c] - max));
            return others.value() / sumExp;
        }

        /**
         * -log p_y = lse - z_y, without cancellation when p_y is close to 1: lse - z_y = log(S / e_y)
         * = log1p(sum_{c != y} e_c / e_y). When e_y = exp(z_y - m) underflows, p_y is tiny and the plain
         * difference (m - z_y) + log S has no cancellation.
         */
        double negativeLogProbability(int y) {
            double ey = Math.exp(z[y] - max);
            if (!(ey >= Double.MIN_NORMAL)) return lse - z[y];
            return Math.log1p(complement(y) * sumExp / ey);
        }

        /** d softcap(x) / dx = 1 - tanh^2(x / c) = 1 - (z / c)^2; 1 without softcap. */
        double softcapSlope(int c, double softcap) {
            if (softcap <= 0) return 1;
            double tanh = z[c] / softcap;
            return 1 - tanh * tanh;
        }

        /**
         * -log p_c = lse - z_c, computed as log S + (m - z_c) where m is finite: with logits near 1e30, lse = m + log S
         * rounds to m in double and lse - z_c would lose log S entirely.
         */
        double lseMinus(int c) {
            return Double.isFinite(max) ? Math.log(sumExp) + (max - z[c]) : lse - z[c];
        }

        /**
         * Entropy -sum p log p = sum p_c (lse - z_c), with 0 log 0 = 0. A row without a finite maximum has no
         * distribution (every p is 0 or NaN), so the sum is empty and the entropy is reported as lse - 0 = lse:
         * -inf for a row of only -inf, +inf with a +inf logit, NaN with a NaN.
         */
        double entropy() {
            if (!Double.isFinite(max)) return lse;
            CompensatedSum entropy = new CompensatedSum();
            for (int c = 0; c < z.length; c++) if (p[c] > 0) entropy.add(p[c] * lseMinus(c));
            return entropy.value();
        }

        void writeDiagnostics(LossOutputs out, int r, int target) {
            if (out.logSumExp() != null) out.logSumExp().setFloat(r, (float) lse);
            if (out.maxLogit() != null) out.maxLogit().setFloat(r, (float) rawMax);
            if (out.argmax() != null) out.argmax().setInt(r, argmax);
            if (out.entropy() != null) out.entropy().setFloat(r, (float) entropy());
            if (out.targetProbability() != null) out.targetProbability().setFloat(r, target < 0 ? Float.NaN : (float) p[target]);
        }
    }

    @Override
    public double crossEntropy(Matrix logits, Matrix targets, CrossEntropyOptions o, LossOutputs out) {
        int rows = logits.rows();
        int classes = logits.cols();
        double e = o.labelSmoothing();
        double lambda = o.zLoss();
        Matrix grad = out.gradientTarget(logits);

        // W = sum_c w_c, used by the smoothing term.
        double weightSum = 0;
        for (int c = 0; c < classes; c++) weightSum += o.classWeight(c);

        // PyTorch's mean: divide by the summed target-class weight of the rows that are not ignored.
        WeightedMeanDivisor divisor = WeightedMeanDivisor.of(targets, o.ignoreIndex(), o.classWeights());
        double scale = divisor.gradientScale(o.reduction(), rows);

        SoftmaxRow row = new SoftmaxRow(classes);
        CompensatedSum total = new CompensatedSum();
        for (int r = 0; r < rows; r++) {
            int y = targets.getInt(r);
            boolean ignored = y == o.ignoreIndex();
            row.compute(logits, r, o.softcap());
            row.writeDiagnostics(out, r, ignored ? -1 : y);
            if (ignored) {
                if (out.losses() != null) out.losses().setFloat(r, 0f);
                if (grad != null) for (int c = 0; c < classes; c++) grad.setFloat(r, c, 0f);
                continue;
            }
            double lse = row.lse;
            double wy = o.classWeight(y);
            // loss = (1-e) w_y (lse - z_y) + (e/C) sum_c w_c (lse - z_c) + lambda lse^2
            double loss = (1 - e) * wy * row.negativeLogProbability(y);
            if (e > 0) {
                CompensatedSum smooth = new CompensatedSum();
                for (int c = 0; c < classes; c++) smooth.add(o.classWeight(c) * row.lseMinus(c));
                loss += e / classes * smooth.value();
            }
            if (lambda > 0) loss += lambda * lse * lse;
            total.add(loss);
            if (out.losses() != null) out.losses().setFloat(r, (float) loss);
            if (grad != null) {
                // dL/dz_c = (1-e) w_y (p_c - [c = y]) + (e/C)(W p_c - w_c) + 2 lambda lse p_c, then times softcap';
                // p_y - 1 is taken as -(1 - p_y) from the other classes' mass, which does not cancel.
                double targetMinusOne = -row.complement(y);
                for (int c = 0; c < classes; c++) {
                    double pc = row.p[c];
                    double g = (1 - e) * wy * (c == y ? targetMinusOne : pc);
                    if (e > 0) g += e / classes * (weightSum * pc - o.classWeight(c));
                    if (lambda > 0) g += 2 * lambda * lse * pc;
                    grad.setFloat(r, c, (float) (scale * g * row.softcapSlope(c, o.softcap())));
                }
            }
        }
        return divisor.reduce(o.reduction(), total.value(), rows, o.allIgnoredMeanIsZero());
    }

    @Override
    public double crossEntropyProbs(Matrix logits, Matrix targetProbs, CrossEntropyOptions o, LossOutputs out) {
        int rows = logits.rows();
        int classes = logits.cols();
        double e = o.labelSmoothing();
        double lambda = o.zLoss();
        Matrix grad = out.gradientTarget(logits);
        double scale = o.reduction().gradientScale(rows, rows);

        SoftmaxRow row = new SoftmaxRow(classes);
        double[] q = new double[classes];
        CompensatedSum total = new CompensatedSum();
        for (int r = 0; r < rows; r++) {
            row.compute(logits, r, o.softcap());
            row.writeDiagnostics(out, r, -1);
            double lse = row.lse;
            // q'_c = (1-e) q_c + e/C; loss = sum_c w_c q'_c (lse - z_c) + lambda lse^2 (terms with q'_c = 0 count 0)
            CompensatedSum loss = new CompensatedSum();
            CompensatedSum weightedMass = new CompensatedSum(); // sum_c w_c q'_c
            for (int c = 0; c < classes; c++) {
                q[c] = (1 - e) * targetProbs.getFloat(r, c) + e / classes;
                double wq = o.classWeight(c) * q[c];
                if (wq != 0) loss.add(wq * row.lseMinus(c));
                weightedMass.add(wq);
            }
            double rowLoss = loss.value() + (lambda > 0 ? lambda * lse * lse : 0);
            total.add(rowLoss);
            if (out.losses() != null) out.losses().setFloat(r, (float) rowLoss);
            if (grad != null) {
                // dL/dz_j = p_j sum_c w_c q'_c - w_j q'_j + 2 lambda lse p_j, then times softcap'.
                double mass = weightedMass.value();
                for (int c = 0; c < classes; c++) {
                    double g = row.p[c] * mass - o.classWeight(c) * q[c];
                    if (lambda > 0) g += 2 * lambda * lse * row.p[c];
                    grad.setFloat(r, c, (float) (scale * g * row.softcapSlope(c, o.softcap())));
                }
            }
        }
        return o.reduction().reduce(total.value(), rows, rows);
    }

    @Override
    public double nll(Matrix logProbs, Matrix targets, NllOptions o, LossOutputs out) {
        int rows = logProbs.rows();
        Matrix grad = out.gradientTarget(logProbs);
        // PyTorch's mean: divide by the summed target-class weight of the rows that are not ignored.
        WeightedMeanDivisor divisor = WeightedMeanDivisor.of(targets, o.ignoreIndex(), o.classWeights());
        double scale = divisor.gradientScale(o.reduction(), rows);
        CompensatedSum total = new CompensatedSum();
        for (int r = 0; r < rows; r++) {
            int y = targets.getInt(r);
            boolean ignored = y == o.ignoreIndex();
            // loss = -w_y logp_y; dL/dlogp_c = -w_y [c = y]
            double loss = ignored ? 0 : -o.classWeight(y) * logProbs.getFloat(r, y);
            total.add(loss);
            if (out.losses() != null) out.losses().setFloat(r, (float) loss);
            if (grad != null) {
                for (int c = 0; c < logProbs.cols(); c++) grad.setFloat(r, c, 0f);
                if (!ignored) grad.setFloat(r, y, (float) (-o.classWeight(y) * scale));
            }
        }
        return divisor.reduce(o.reduction(), total.value(), rows, o.allIgnoredMeanIsZero());
    }

    @Override
    public double softmaxFocal(Matrix logits, Matrix targets, SoftmaxFocalOptions o, LossOutputs out) {
        int rows = logits.rows();
        int classes = logits.cols();
        double gamma = o.gamma();
        Matrix grad = out.gradientTarget(logits);
        double scale = o.reduction().gradientScale(rows, rows);
        SoftmaxRow row = new SoftmaxRow(classes);
        CompensatedSum total = new CompensatedSum();
        for (int r = 0; r < rows; r++) {
            int y = targets.getInt(r);
            row.compute(logits, r, 0);
            double a = o.alphaOf(y);
            double py = row.p[y];
            double oneMinusPy = row.complement(y); // 1 - p_y without cancellation for confident rows
            double logPy = -row.negativeLogProbability(y);
            // loss = -a (1 - p_y)^gamma log p_y
            double focus = Math.pow(oneMinusPy, gamma);
            double loss = -a * focus * logPy;
            total.add(loss);
            if (out.losses() != null) out.losses().setFloat(r, (float) loss);
            if (grad != null) {
                // dL/dz_j = -a (delta_yj - p_j) [(1-p)^g - g (1-p)^(g-1) p log p], with delta_yy - p_y = 1 - p_y
                double inner = focus - (gamma == 0 ? 0 : gamma * Math.pow(oneMinusPy, gamma - 1) * py * logPy);
                for (int c = 0; c < classes; c++) {
                    double deltaMinusP = c == y ? oneMinusPy : -row.p[c];
                    grad.setFloat(r, c, (float) (scale * -a * deltaMinusP * inner));
                }
            }
        }
        return o.reduction().reduce(total.value(), rows, rows);
    }

    @Override
    public double multiMargin(Matrix x, Matrix targets, MultiMarginOptions o, LossOutputs out) {
        int rows = x.rows();
        int classes = x.cols();
        Matrix grad = out.gradientTarget(x);
        double scale = o.reduction().gradientScale(rows, rows);
        double[] rowGrad = new double[classes];
        CompensatedSum total = new CompensatedSum();
        for (int r = 0; r < rows; r++) {
            int y = targets.getInt(r);
            double wy = o.classWeight(y);
            double xy = x.getFloat(r, y);
            // loss = (1/C) sum_{i != y} w_y max(0, margin - x_y + x_i)^p
            CompensatedSum loss = new CompensatedSum();
            java.util.Arrays.fill(rowGrad, 0);
            for (int i = 0; i < classes; i++) {
                if (i == y) continue;
                double h = o.margin() - xy + x.getFloat(r, i);
                if (h <= 0) continue;
                loss.add(wy * (o.p() == 1 ? h : h * h) / classes);
                // d/dx_i = w_y p h^(p-1) / C, and the same with minus sign for x_y
                double d = wy * (o.p() == 1 ? 1 : 2 * h) / classes;
                rowGrad[i] += d;
                rowGrad[y] -= d;
            }
            total.add(loss.value());
            if (out.losses() != null) out.losses().setFloat(r, (float) loss.value());
            if (grad != null) for (int c = 0; c < classes; c++) grad.setFloat(r, c, (float) (scale * rowGrad[c]));
        }
        return o.reduction().reduce(total.value(), rows, rows);
    }

    @Override
    public double klDiv(Matrix input, Matrix target, KlDivOptions o, LossOutputs out) {
        long n = input.size();
        Matrix grad = out.gradientTarget(input);
        double scale = o.reduction().gradientScale(n, input.rows());
        CompensatedSum total = new CompensatedSum();
        for (long i = 0; i < n; i++) {
            double x = input.getFloat(i);
            double t = target.getFloat(i);
            double loss;
            double dx;
            if (o.logTarget()) {
                // loss = exp(t) (t - x); d/dx = -exp(t)
                double et = Math.exp(t);
                loss = et * (t - x);
                dx = -et;
            } else {
                // loss = t (log t - x), with 0 log 0 = 0 (PyTorch xlogy); d/dx = -t
                loss = t == 0 ? -t * x : t * (Math.log(t) - x);
                dx = -t;
            }
            total.add(loss);
            if (out.losses() != null) out.losses().setFloat(i, (float) loss);
            if (grad != null) grad.setFloat(i, (float) (scale * dx));
        }
        return o.reduction().reduce(total.value(), n, input.rows());
    }

    @Override
    public double dice(Matrix logits, Matrix target, DiceOptions o, LossOutputs out) {
        int rows = logits.rows();
        int cols = logits.cols();
        Matrix grad = out.gradientTarget(logits);
        double scale = o.reduction().gradientScale(rows, rows);
        double[] s = new double[cols];
        CompensatedSum total = new CompensatedSum();
        for (int r = 0; r < rows; r++) {
            CompensatedSum intersection = new CompensatedSum();
            CompensatedSum sumS = new CompensatedSum();
            CompensatedSum sumT = new CompensatedSum();
            for (int c = 0; c < cols; c++) {
                s[c] = sigmoid(logits.getFloat(r, c));
                double t = target.getFloat(r, c);
                intersection.add(s[c] * t);
                sumS.add(s[c]);
                sumT.add(t);
            }
            // loss = 1 - N / D with N = 2 sum(s t) + smooth, D = sum(s) + sum(t) + smooth
            double numerator = 2 * intersection.value() + o.smooth();
            double denominator = sumS.value() + sumT.value() + o.smooth();
            double loss = 1 - numerator / denominator;
            total.add(loss);
            if (out.losses() != null) out.losses().setFloat(r, (float) loss);
            if (grad != null) {
                // dL/ds_j = -(2 t_j D - N) / D^2; ds_j/dx_j = s_j (1 - s_j) = s_j sigmoid(-x_j), which keeps its
                // digits where s_j rounds to 1 (1 - s_j would not, from x_j near 20 on)
                for (int c = 0; c < cols; c++) {
                    double t = target.getFloat(r, c);
                    double dLds = -(2 * t * denominator - numerator) / (denominator * denominator);
                    grad.setFloat(r, c, (float) (scale * dLds * s[c] * sigmoid(-(double) logits.getFloat(r, c))));
                }
            }
        }
        return o.reduction().reduce(total.value(), rows, rows);
    }

    // ============================================================================ element losses

    @Override
    public double pointwise(PointwiseLoss loss, Matrix input, Matrix target, Matrix weight, LossOutputs out) {
        long n = input.size();
        int cols = input.cols();
        Matrix grad = out.gradientTarget(input);
        double scale = loss.reduction().gradientScale(n, input.rows());
        CompensatedSum total = new CompensatedSum();
        double[] valueAndSlope = new double[2];
        for (long i = 0; i < n; i++) {
            double x = input.getFloat(i);
            double t = target.getFloat(i);
            double w = weight == null ? 1 : weight.getFloat(i);
            elementLoss(loss, x, t, (int) (i % Math.max(cols, 1)), valueAndSlope);
            double value = w * valueAndSlope[0];
            total.add(value);
            if (out.losses() != null) out.losses().setFloat(i, (float) value);
            if (grad != null) grad.setFloat(i, (float) (scale * w * valueAndSlope[1]));
        }
        return loss.reduction().reduce(total.value(), n, input.rows());
    }

    /** Writes {loss, d loss / d x} of one element into {@code result}. d = x - t throughout. */
    private static void elementLoss(PointwiseLoss loss, double x, double t, int col, double[] result) {
        double d = x - t;
        switch (loss) {
            case PointwiseLoss.Mse m -> set(result, d * d, 2 * d);
            case PointwiseLoss.L1 m -> set(result, Math.abs(d), Math.signum(d));
            case PointwiseLoss.SmoothL1 m -> {
                double beta = m.beta();
                // |d| < beta: 0.5 d^2 / beta (slope d / beta); else |d| - 0.5 beta (slope sign d)
                if (Math.abs(d) < beta) set(result, 0.5 * d * d / beta, d / beta);
                else set(result, Math.abs(d) - 0.5 * beta, Math.signum(d));
            }
            case PointwiseLoss.Huber h -> {
                double delta = h.delta();
                // |d| < delta: 0.5 d^2 (slope d); else delta (|d| - 0.5 delta) (slope delta sign d)
                if (Math.abs(d) < delta) set(result, 0.5 * d * d, d);
                else set(result, delta * (Math.abs(d) - 0.5 * delta), delta * Math.signum(d));
            }
            case PointwiseLoss.LogCosh l -> {
                // log cosh d = |d| + log1p(exp(-2|d|)) - log 2, stable for large |d|; slope tanh d
                double a = Math.abs(d);
                set(result, a + Math.log1p(Math.exp(-2 * a)) - Math.log(2), Math.tanh(d));
            }
            case PointwiseLoss.Quantile q -> {
                // u = t - x; loss = max(tau u, (tau - 1) u); d/dx = -tau (u > 0), 1 - tau (u < 0),
                // and at u = 0 PyTorch's maximum splits the gradient between its equal arguments: 1/2 - tau.
                double u = t - x;
                double tau = q.tau();
                double slope = u > 0 ? -tau : u < 0 ? 1 - tau : 0.5 - tau;
                set(result, Math.max(tau * u, (tau - 1) * u), slope);
            }
            case PointwiseLoss.Hinge h -> {
                // v = 1 - t x; loss = max(0, v); d/dx = -t where v > 0
                double v = 1 - t * x;
                set(result, Math.max(0, v), v > 0 ? -t : 0);
            }
            case PointwiseLoss.SquaredHinge h -> {
                // loss = max(0, 1 - t x)^2; d/dx = -2 t max(0, 1 - t x)
                double v = Math.max(0, 1 - t * x);
                set(result, v * v, -2 * t * v);
            }
            case PointwiseLoss.PoissonNll p -> {
                double value;
                double slope;
                if (p.logInput()) {
                    // loss = exp(x) - t x; slope exp(x) - t
                    value = Math.exp(x) - t * x;
                    slope = Math.exp(x) - t;
                } else {
                    // loss = x - t log(x + eps); slope 1 - t / (x + eps)
                    value = x - t * Math.log(x + p.eps());
                    slope = 1 - t / (x + p.eps());
                }
                // Stirling's approximation of log(t!) where t > 1: t log t - t + 0.5 log(2 pi t)
                if (p.full() && t > 1) value += t * Math.log(t) - t + 0.5 * Math.log(2 * Math.PI * t);
                set(result, value, slope);
            }
            case PointwiseLoss.BceWithLogits b -> {
                // loss = (1 - t) x + (1 + (pw - 1) t) softplus(-x). With x = softplus(x) - softplus(-x) this is
                // (1 - t) softplus(x) + pw t softplus(-x): two terms >= 0, no cancellation, and the exact limits at
                // x = +-inf (0 or +inf) instead of inf - inf. slope = s (1 + (pw - 1) t) - pw t.
                double pw = b.posWeightOf(col);
                double k = 1 + (pw - 1) * t;
                set(result, weighted(1 - t, softplus(x)) + weighted(pw * t, softplus(-x)), sigmoid(x) * k - pw * t);
            }
            case PointwiseLoss.SigmoidFocal f -> sigmoidFocal(f, x, t, result);
        }
    }

    /**
     * torchvision's sigmoid focal loss: ce = BCE(x, t), p_t = p t + (1 - p)(1 - t),
     * loss = alpha_t ce (1 - p_t)^gamma. Slope by the product rule with dce/dx = p - t and
     * d(1 - p_t)^g/dx = -g (1 - p_t)^(g-1) (2t - 1) p (1 - p).
     */
    private static void sigmoidFocal(PointwiseLoss.SigmoidFocal f, double x, double t, double[] result) {
        double p = sigmoid(x);
        double ce = weighted(1 - t, softplus(x)) + weighted(t, softplus(-x)); // BCE(x, t), as in BceWithLogits
        double oneMinusPt = 1 - (p * t + (1 - p) * (1 - t));
        double g = f.gamma();
        double modulator = Math.pow(oneMinusPt, g);
        double modulatorSlope = g == 0 ? 0 : -g * Math.pow(oneMinusPt, g - 1) * (2 * t - 1) * p * (1 - p);
        double alphaT = f.alpha() >= 0 ? f.alpha() * t + (1 - f.alpha()) * (1 - t) : 1;
        set(result, alphaT * ce * modulator, alphaT * ((p - t) * modulator + ce * modulatorSlope));
    }

    @Override
    public double gaussianNll(Matrix input, Matrix target, Matrix variance, GaussianNllOptions o, LossOutputs out) {
        long n = input.size();
        Matrix grad = out.gradientTarget(input);
        double scale = o.reduction().gradientScale(n, input.rows());
        CompensatedSum total = new CompensatedSum();
        for (long i = 0; i < n; i++) {
            double d = (double) input.getFloat(i) - target.getFloat(i); // in double: a float difference would round
            // v = max(var, eps); loss = 0.5 (log v + d^2 / v) [+ 0.5 log 2 pi]; d/dx = d / v
            double v = Math.max(variance.getFloat(i), o.eps());
            double loss = 0.5 * (Math.log(v) + d * d / v) + (o.full() ? HALF_LOG_TWO_PI : 0);
            total.add(loss);
            if (out.losses() != null) out.losses().setFloat(i, (float) loss);
            if (grad != null) grad.setFloat(i, (float) (scale * d / v));
        }
        return o.reduction().reduce(total.value(), n, input.rows());
    }

    @Override
    public double penalty(Penalty penalty, Matrix w, Matrix gradient) {
        long n = w.size();
        CompensatedSum l1 = new CompensatedSum();
        CompensatedSum l2 = new CompensatedSum();
        // l1 = sum |w|, l2 = 0.5 sum w^2; gradients sign(w) and w
        double l1Share = penalty.l1Share();
        double strength = penalty.strength();
        for (long i = 0; i < n; i++) {
            double v = w.getFloat(i);
            l1.add(Math.abs(v));
            l2.add(0.5 * v * v);
            if (gradient != null) {
                gradient.setFloat(i, (float) (strength * (l1Share * Math.signum(v) + (1 - l1Share) * v)));
            }
        }
        double value = 0;
        if (l1Share > 0) value += l1Share * l1.value();
        if (l1Share < 1) value += (1 - l1Share) * l2.value();
        return strength * value;
    }

    // ============================================================================ reductions

    @Override
    public double reduce(ReduceOp op, Matrix x) {
        return reduceRange(op, x, 0, x.size());
    }

    @Override
    public void reduceRows(ReduceOp op, Matrix x, Matrix out) {
        for (int r = 0; r < x.rows(); r++) {
            out.setFloat(r, (float) reduceRange(op, x, (long) r * x.cols(), (long) (r + 1) * x.cols()));
        }
    }

    /** One reduction over flat indices [from, to). */
    private static double reduceRange(ReduceOp op, Matrix x, long from, long to) {
        long n = to - from;
        switch (op) {
            case SUM, MEAN, L1_NORM, L2_NORM -> {
                CompensatedSum sum = new CompensatedSum();
                for (long i = from; i < to; i++) {
                    double v = x.getFloat(i);
                    sum.add(switch (op) {
                        case L1_NORM -> Math.abs(v);
                        case L2_NORM -> v * v; // exact in double for any float v
                        default -> v;
                    });
                }
                return switch (op) {
                    case MEAN -> sum.value() / n;
                    case L2_NORM -> Math.sqrt(sum.value());
                    default -> sum.value();
                };
            }
            case MIN, MAX -> {
                double best = op == ReduceOp.MIN ? Double.POSITIVE_INFINITY : Double.NEGATIVE_INFINITY;
                for (long i = from; i < to; i++) {
                    double v = x.getFloat(i);
                    if (Double.isNaN(v)) return Double.NaN;
                    best = op == ReduceOp.MIN ? Math.min(best, v) : Math.max(best, v);
                }
                return best;
            }
            case LOGSUMEXP -> {
                // lse = m + log sum exp(x - m) with m = max x; all -inf (or empty) gives -inf
                double m = reduceRange(ReduceOp.MAX, x, from, to);
                if (Double.isNaN(m) || Double.isInfinite(m)) return m;
                CompensatedSum sum = new CompensatedSum();
                for (long i = from; i < to; i++) sum.add(Math.exp(x.getFloat(i) - m));
                return m + Math.log(sum.value());
            }
        }
        throw new AssertionError(op);
    }

    @Override
    public long argmax(Matrix x) {
        return argmaxRange(x, 0, x.size());
    }

    @Override
    public void argmaxRows(Matrix x, Matrix out) {
        for (int r = 0; r < x.rows(); r++) {
            long flat = argmaxRange(x, (long) r * x.cols(), (long) (r + 1) * x.cols());
            out.setInt(r, flat < 0 ? -1 : (int) (flat - (long) r * x.cols()));
        }
    }

    /** First index of the largest value in [from, to); the first NaN wins; -1 when empty. */
    private static long argmaxRange(Matrix x, long from, long to) {
        long best = -1;
        double bestValue = Double.NEGATIVE_INFINITY;
        for (long i = from; i < to; i++) {
            double v = x.getFloat(i);
            if (Double.isNaN(v)) return i;
            if (best < 0 || v > bestValue) {
                best = i;
                bestValue = v;
            }
        }
        return best;
    }

    @Override
    public double dot(Matrix a, Matrix b) {
        CompensatedSum sum = new CompensatedSum();
        // The product of two floats is exact in double, so only the summation rounds.
        for (long i = 0; i < a.size(); i++) sum.add((double) a.getFloat(i) * b.getFloat(i));
        return sum.value();
    }

    // ============================================================================ shared pieces


    /** Logistic sigmoid, computed without overflow on either side. */
    static double sigmoid(double x) {
        if (x >= 0) return 1 / (1 + Math.exp(-x));
        double e = Math.exp(x);
        return e / (1 + e);
    }

    /** softplus(x) = log(1 + exp(x)) = log1p(exp(-|x|)) + max(x, 0), stable for any x. */
    static double softplus(double x) {
        return Math.log1p(Math.exp(-Math.abs(x))) + Math.max(x, 0);
    }

    /** coefficient * term, where a zero coefficient gives 0 even for an infinite term (0 * inf is a limit here). */
    private static double weighted(double coefficient, double term) {
        return coefficient == 0 ? 0 : coefficient * term;
    }

    private static void set(double[] result, double value, double slope) {
        result[0] = value;
        result[1] = slope;
    }
}
