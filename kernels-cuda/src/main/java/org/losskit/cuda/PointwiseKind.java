package org.losskit.cuda;

import org.losskit.Matrix;
import org.losskit.PointwiseLoss;

/**
 * The element-wise losses of lk_pointwise, in the order of the LK_MSE... codes of elementwise.cuh (a test checks
 * the two agree), and how a {@link PointwiseLoss} becomes the kernel's (kind, p1, p2, flags, pos_weight).
 */
enum PointwiseKind {
    MSE, L1, SMOOTH_L1, HUBER, LOG_COSH, QUANTILE, HINGE, SQUARED_HINGE, POISSON_NLL, BCE_WITH_LOGITS, SIGMOID_FOCAL;

    static final int FLAG_LOG_INPUT = 1;
    static final int FLAG_FULL = 2;

    /** The launch parameters of one loss: p1, p2 are beta | delta | tau | eps | (alpha, gamma). */
    record Launch(PointwiseKind kind, float p1, float p2, int flags, Matrix posWeight) {}

    static Launch of(PointwiseLoss loss) {
        return switch (loss) {
            case PointwiseLoss.Mse m -> new Launch(MSE, 0, 0, 0, null);
            case PointwiseLoss.L1 m -> new Launch(L1, 0, 0, 0, null);
            case PointwiseLoss.SmoothL1 m -> new Launch(SMOOTH_L1, (float) m.beta(), 0, 0, null);
            case PointwiseLoss.Huber h -> new Launch(HUBER, (float) h.delta(), 0, 0, null);
            case PointwiseLoss.LogCosh l -> new Launch(LOG_COSH, 0, 0, 0, null);
            case PointwiseLoss.Quantile q -> new Launch(QUANTILE, (float) q.tau(), 0, 0, null);
            case PointwiseLoss.Hinge h -> new Launch(HINGE, 0, 0, 0, null);
            case PointwiseLoss.SquaredHinge h -> new Launch(SQUARED_HINGE, 0, 0, 0, null);
            case PointwiseLoss.PoissonNll p -> new Launch(POISSON_NLL, (float) p.eps(), 0,
                    (p.logInput() ? FLAG_LOG_INPUT : 0) | (p.full() ? FLAG_FULL : 0), null);
            case PointwiseLoss.BceWithLogits b -> new Launch(BCE_WITH_LOGITS, 0, 0, 0, b.posWeight());
            case PointwiseLoss.SigmoidFocal f -> new Launch(SIGMOID_FOCAL, (float) f.alpha(), (float) f.gamma(), 0, null);
        };
    }
}
