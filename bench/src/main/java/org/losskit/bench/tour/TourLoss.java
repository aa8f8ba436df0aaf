package org.losskit.bench.tour;

import org.losskit.CrossEntropyOptions;
import org.losskit.LossEngine;
import org.losskit.LossOutputs;
import org.losskit.Matrix;
import org.losskit.Op;
import org.losskit.PointwiseLoss;
import org.losskit.Reduction;
import org.losskit.SoftmaxFocalOptions;

/**
 * A run's loss as one losskit call on the model's logits: the mean loss over the rows and, when asked, its gradient
 * with respect to the logits. Nothing else in the tour computes a loss or a loss gradient.
 */
final class TourLoss {
    private final LossEngine engine;
    private final TourSpec.Run run;
    private final PointwiseLoss pointwise;
    private final CrossEntropyOptions crossEntropy;
    private final SoftmaxFocalOptions focal;

    /**
     * @param classWeights the training set's balanced class weights, used when the run asks for them
     */
    TourLoss(LossEngine engine, TourSpec.Run run, float[] classWeights) {
        this.engine = engine;
        this.run = run;
        this.pointwise = switch (run.loss()) {
            case "mse" -> new PointwiseLoss.Mse(Reduction.MEAN);
            case "l1" -> new PointwiseLoss.L1(Reduction.MEAN);
            case "huber" -> new PointwiseLoss.Huber(Reduction.MEAN, run.delta());
            case "smooth_l1" -> new PointwiseLoss.SmoothL1(Reduction.MEAN, run.beta());
            case "log_cosh" -> new PointwiseLoss.LogCosh(Reduction.MEAN);
            case "quantile" -> new PointwiseLoss.Quantile(Reduction.MEAN, run.tau());
            case "cross_entropy", "focal" -> null;
            default -> throw new IllegalArgumentException("run " + run.name() + ": loss = " + run.loss());
        };
        CrossEntropyOptions ce = null;
        if (run.loss().equals("cross_entropy")) {
            ce = CrossEntropyOptions.defaults();
            if (run.labelSmoothing() != null) ce = ce.labelSmoothing(run.labelSmoothing());
            if ("balanced".equals(run.classWeights())) ce = ce.classWeights(classWeights);
        }
        this.crossEntropy = ce;
        this.focal = run.loss().equals("focal") ? new SoftmaxFocalOptions(Reduction.MEAN, null, run.gamma()) : null;
    }

    /** The catalogue entry of this loss, which carries losskit's documented float32 error bound. */
    Op op() {
        return pointwise != null ? pointwise.op() : crossEntropy != null ? Op.CROSS_ENTROPY : Op.SOFTMAX_FOCAL;
    }

    TourSpec.Run run() {
        return run;
    }

    /**
     * The mean loss of logits z (rows x outputs, row-major) against the dataset's targets or labels; writes
     * dL/dz into {@code gradient} unless it is null.
     */
    double value(float[] z, TourData.Dataset data, int outputs, float[] gradient) {
        Matrix logits = Matrix.of(z, data.rows(), outputs);
        LossOutputs out = gradient == null ? LossOutputs.none()
                : LossOutputs.withGradient(Matrix.of(gradient, data.rows(), outputs));
        if (pointwise != null) {
            return engine.pointwise(pointwise, logits, Matrix.of(data.targets(), data.rows(), 1), null, out);
        }
        Matrix labels = Matrix.vector(data.labels());
        return crossEntropy != null ? engine.crossEntropy(logits, labels, crossEntropy, out)
                : engine.softmaxFocal(logits, labels, focal, out);
    }
}
