package org.losskit.bench.tour;

import java.util.function.ToDoubleFunction;

/**
 * Full-batch gradient descent in a few lines: logits, one losskit call for the loss and its gradient, one step; the
 * validation loss from the same weights. Records the training and validation loss before each update and after the
 * last one ({@code steps + 1} values each), and one metric of the validation logits per step.
 */
final class Trainer {
    private Trainer() {}

    /**
     * @param train     the training loss curve
     * @param validation the validation loss curve
     * @param metric    the metric of the validation logits after each step (NaN when none was asked for)
     * @param model     the trained model
     * @param validationLogits the trained model's validation logits
     * @param nanos     the run's wall time
     */
    record Result(double[] train, double[] validation, double[] metric, LinearModel model, float[] validationLogits,
                  long nanos) {}

    static Result train(TourLoss loss, TourData.Dataset train, TourData.Dataset validation, LinearModel model,
                        double learningRate, int steps, ToDoubleFunction<float[]> validationMetric) {
        long start = System.nanoTime();
        int outputs = model.outputs;
        float[] z = new float[train.rows() * outputs];
        float[] g = new float[z.length];
        float[] validationZ = new float[validation.rows() * outputs];
        double[] trainCurve = new double[steps + 1];
        double[] validationCurve = new double[steps + 1];
        double[] metric = new double[steps + 1];
        for (int step = 0; ; step++) {
            model.logits(train, z);
            trainCurve[step] = loss.value(z, train, outputs, step < steps ? g : null);
            model.logits(validation, validationZ);
            validationCurve[step] = loss.value(validationZ, validation, outputs, null);
            metric[step] = validationMetric == null ? Double.NaN : validationMetric.applyAsDouble(validationZ);
            if (step == steps) break;
            model.step(train, g, (float) learningRate);
        }
        return new Result(trainCurve, validationCurve, metric, model, validationZ, System.nanoTime() - start);
    }
}
