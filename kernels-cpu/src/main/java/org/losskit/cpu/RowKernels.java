package org.losskit.cpu;

import static org.losskit.cpu.VectorShapes.FLOATS;
import static org.losskit.cpu.VectorShapes.LANES;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

import org.losskit.Matrix;

/** Row losses that are not softmax-based: multi-class margin and soft Dice, one row at a time in blocks. */
final class RowKernels {
    private RowKernels() {}

    /**
     * PyTorch multi_margin_loss for row r: h_i = margin - x_y + x_i; loss = sum_{i != y, h_i > 0} w_y h_i^p / C;
     * d loss / d x_i = w_y p h_i^(p-1) / C for those i, and x_y gets minus their sum. NaN h counts as active, as in
     * the reference. Returns the row loss; writes the gradient (times {@code scale}) when {@code grad} is not null.
     */
    static double multiMarginRow(Matrix x, Matrix grad, int r, int y, float xy, float wy, int p, float margin, float scale,
                                 Scratch s) {
        int cols = x.cols();
        float shift = margin - xy;
        float lossFactor = wy / cols;
        float slopeFactor = (p == 1 ? 1f : 2f) * wy / cols * scale;
        double loss = 0;
        double slopeSum = 0;
        for (int c0 = 0; c0 < cols; c0 += Blocks.SIZE) {
            int n = Math.min(Blocks.SIZE, cols - c0);
            int xo = Blocks.read(x, r, c0, n, s.input);
            float[] a = Blocks.array(x, s.input);
            float[] g = grad == null ? null : Blocks.array(grad, s.gradient);
            int go = grad == null ? 0 : Blocks.writeTarget(grad, r, c0);
            int local = y - c0;
            if (local >= 0 && local < n) {
                loss += marginRange(a, xo, g, go, 0, local, shift, p, lossFactor, slopeFactor, s);
                slopeSum += s.probabilityMass;
                loss += marginRange(a, xo, g, go, local + 1, n, shift, p, lossFactor, slopeFactor, s);
                slopeSum += s.probabilityMass;
            } else {
                loss += marginRange(a, xo, g, go, 0, n, shift, p, lossFactor, slopeFactor, s);
                slopeSum += s.probabilityMass;
            }
            if (grad != null) Blocks.write(grad, r, c0, n, s.gradient);
        }
        if (grad != null) grad.setFloat(r, y, (float) -slopeSum);
        return loss;
    }

    /** One range of a block; returns the loss and leaves the sum of the written gradient in s.probabilityMass. */
    private static double marginRange(float[] a, int xo, float[] g, int go, int from, int to, float shift, int p,
                                      float lossFactor, float slopeFactor, Scratch s) {
        int i = from;
        float loss = 0;
        float slopes = 0;
        int bound = from + FLOATS.loopBound(to - from);
        if (bound > from) {
            // One method per p, each a loop of its own: C2 compiles each with its own profile and never boxes.
            float[] sums = s.marginSums;
            if (p == 1) linearMargins(a, xo, g, go, from, bound, shift, lossFactor, slopeFactor, sums, s.lanes);
            else squaredMargins(a, xo, g, go, from, bound, shift, lossFactor, slopeFactor, sums, s.lanes);
            loss = sums[0];
            slopes = sums[1];
            i = bound;
        }
        for (; i < to; i++) {
            float h = a[xo + i] + shift;
            boolean inactive = h <= 0;
            float slope = inactive ? 0f : (p == 1 ? slopeFactor : h * slopeFactor);
            if (!inactive) loss += (p == 1 ? h : h * h) * lossFactor;
            slopes += slope;
            if (g != null) g[go + i] = slope;
        }
        s.probabilityMass = slopes;
        return loss;
    }

    /** p = 1 over [from, to), whole vectors: sums[0] = loss, sums[1] = sum of the slopes written. */
    private static void linearMargins(float[] a, int xo, float[] g, int go, int from, int to, float shift, float lossFactor,
                                      float slopeFactor, float[] sums, float[] lanes) {
        FloatVector lossAcc = FloatVector.zero(FLOATS);
        FloatVector slopeAcc = FloatVector.zero(FLOATS);
        FloatVector slopeValue = FloatVector.broadcast(FLOATS, slopeFactor);
        for (int i = from; i < to; i += LANES) {
            FloatVector h = FloatVector.fromArray(FLOATS, a, xo + i).add(shift);
            VectorMask<Float> inactive = h.compare(VectorOperators.LE, 0f);
            FloatVector slope = slopeValue.blend(0f, inactive);
            lossAcc = lossAcc.add(h.mul(lossFactor).blend(0f, inactive));
            slopeAcc = slopeAcc.add(slope);
            if (g != null) slope.intoArray(g, go + i);
        }
        lossAcc.intoArray(lanes, 0);
        sums[0] = Lanes.sum(lanes);
        slopeAcc.intoArray(lanes, 0);
        sums[1] = Lanes.sum(lanes);
    }

    /** p = 2 over [from, to), whole vectors. */
    private static void squaredMargins(float[] a, int xo, float[] g, int go, int from, int to, float shift, float lossFactor,
                                       float slopeFactor, float[] sums, float[] lanes) {
        FloatVector lossAcc = FloatVector.zero(FLOATS);
        FloatVector slopeAcc = FloatVector.zero(FLOATS);
        for (int i = from; i < to; i += LANES) {
            FloatVector h = FloatVector.fromArray(FLOATS, a, xo + i).add(shift);
            VectorMask<Float> inactive = h.compare(VectorOperators.LE, 0f);
            FloatVector slope = h.mul(slopeFactor).blend(0f, inactive);
            lossAcc = lossAcc.add(h.mul(h).mul(lossFactor).blend(0f, inactive));
            slopeAcc = slopeAcc.add(slope);
            if (g != null) slope.intoArray(g, go + i);
        }
        lossAcc.intoArray(lanes, 0);
        sums[0] = Lanes.sum(lanes);
        slopeAcc.intoArray(lanes, 0);
        sums[1] = Lanes.sum(lanes);
    }

    /**
     * Soft Dice of row r from logits: s = sigmoid(x), N = 2 sum(s t) + smooth, D = sum(s) + sum(t) + smooth,
     * loss = 1 - N / D; dL/dx_j = -(2 t_j D - N) / D^2 s_j (1 - s_j), times {@code scale}, with 1 - s_j taken as
     * sigmoid(-x_j): for large x_j, s_j rounds to within an ulp of 1 and a float 1 - s_j would keep only a few of
     * the digits of the slope (as in the BCE kernel).
     */
    static double diceRow(Matrix logits, Matrix target, Matrix grad, int r, double smooth, double scale, Scratch s) {
        int cols = logits.cols();
        double intersection = 0;
        double sumS = 0;
        double sumT = 0;
        for (int c0 = 0; c0 < cols; c0 += Blocks.SIZE) {
            int n = Math.min(Blocks.SIZE, cols - c0);
            int xo = Blocks.read(logits, r, c0, n, s.input);
            float[] x = Blocks.array(logits, s.input);
            int to = Blocks.read(target, r, c0, n, s.target);
            float[] t = Blocks.array(target, s.target);
            stageSigmoid(x, xo, n, s); // before any vector is live: a vector held across a call is boxed
            FloatVector st = FloatVector.zero(FLOATS);
            FloatVector ss = st;
            FloatVector tt = st;
            int i = 0;
            for (int bound = FLOATS.loopBound(n); i < bound; i += LANES) {
                FloatVector tv = FloatVector.fromArray(FLOATS, t, to + i);
                FloatVector sv = FloatVector.fromArray(FLOATS, s.stageSigmoid, i);
                st = sv.fma(tv, st);
                ss = ss.add(sv);
                tt = tt.add(tv);
            }
            st.intoArray(s.lanes, 0);
            float blockSt = Lanes.sum(s.lanes);
            ss.intoArray(s.lanes, 0);
            float blockS = Lanes.sum(s.lanes);
            tt.intoArray(s.lanes, 0);
            float blockT = Lanes.sum(s.lanes);
            for (; i < n; i++) {
                float sv = sigmoid(x[xo + i]);
                float tv = t[to + i];
                blockSt += sv * tv;
                blockS += sv;
                blockT += tv;
            }
            intersection += blockSt;
            sumS += blockS;
            sumT += blockT;
        }
        double numerator = 2 * intersection + smooth;
        double denominator = sumS + sumT + smooth;
        double loss = 1 - numerator / denominator;
        if (grad != null) {
            // g_j = s_j sigmoid(-x_j) (t_j a + b), a = -2 scale / D, b = scale N / D^2
            float a = (float) (-2 * scale / denominator);
            float b = (float) (scale * numerator / (denominator * denominator));
            for (int c0 = 0; c0 < cols; c0 += Blocks.SIZE) {
                int n = Math.min(Blocks.SIZE, cols - c0);
                int xo = Blocks.read(logits, r, c0, n, s.input);
                float[] x = Blocks.array(logits, s.input);
                int to = Blocks.read(target, r, c0, n, s.target);
                float[] t = Blocks.array(target, s.target);
                float[] g = Blocks.array(grad, s.gradient);
                int go = Blocks.writeTarget(grad, r, c0);
                int i = 0;
                stageSigmoid(x, xo, n, s);
                for (int bound = FLOATS.loopBound(n); i < bound; i += LANES) {
                    FloatVector sv = FloatVector.fromArray(FLOATS, s.stageSigmoid, i);
                    FloatVector tv = FloatVector.fromArray(FLOATS, t, to + i);
                    FloatVector complement = FloatVector.fromArray(FLOATS, s.stageSigmoidOfNegative, i);
                    sv.mul(complement).mul(tv.fma(a, b)).intoArray(g, go + i);
                }
                for (; i < n; i++) {
                    float xi = x[xo + i];
                    g[go + i] = sigmoid(xi) * sigmoid(-xi) * Math.fma(t[to + i], a, b);
                }
                Blocks.write(grad, r, c0, n, s.gradient);
            }
        }
        return loss;
    }

    /** sigmoid of the whole vectors of a block into {@code s.stageSigmoid}, staged through exp(-|x|) in {@code s.stageE}. */
    private static void stageSigmoid(float[] x, int xo, int n, Scratch s) {
        int bound = FLOATS.loopBound(n);
        ElementKernels.negativeAbs(x, xo, 0, bound, 1f, s.stageE);
        FastExp.expBlock(s.stageE, 0, bound, 0f, s.stageE);
        ElementKernels.sigmoid(x, xo, s.stageE, 0, bound, s.stageSigmoid, s.stageSigmoidOfNegative);
    }

    /** Scalar sigmoid with the same exp as the vector loops. */
    private static float sigmoid(float x) {
        float e = FastExp.expNonPositive(-Math.abs(x));
        return x >= 0 ? 1 / (1 + e) : e / (1 + e);
    }
}
