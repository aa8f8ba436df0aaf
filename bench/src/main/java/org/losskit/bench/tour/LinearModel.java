package org.losskit.bench.tour;

/**
 * A linear model {@code Z = X W + b} (W features x outputs, row-major; b one per output) in float32, trained by
 * full-batch gradient descent. The sums of the forward and backward pass are taken in double and rounded to float32
 * once; the update is float32 arithmetic, as PyTorch's {@code w -= lr * w.grad}.
 */
final class LinearModel {
    final int features;
    final int outputs;
    final float[] w;
    final float[] b;
    private final double[] sumW;
    private final double[] sumB;

    LinearModel(float[] initialW, int features, int outputs) {
        this.features = features;
        this.outputs = outputs;
        this.w = initialW.clone();
        this.b = new float[outputs];
        this.sumW = new double[w.length];
        this.sumB = new double[outputs];
    }

    /** z = X W + b for every row of {@code data}. */
    void logits(TourData.Dataset data, float[] z) {
        for (int i = 0; i < data.rows(); i++) {
            int row = i * features;
            for (int c = 0; c < outputs; c++) {
                double sum = b[c];
                for (int j = 0; j < features; j++) sum += (double) data.x()[row + j] * w[j * outputs + c];
                z[i * outputs + c] = (float) sum;
            }
        }
    }

    /** One step: dL/dW = X^T G and dL/db = sum of G's rows, for G = dL/dZ; then W -= lr dL/dW, b -= lr dL/db. */
    void step(TourData.Dataset data, float[] g, float learningRate) {
        java.util.Arrays.fill(sumW, 0);
        java.util.Arrays.fill(sumB, 0);
        for (int i = 0; i < data.rows(); i++) {   // each sum runs over the rows in order, summed left to right
            for (int j = 0; j < features; j++) {
                double x = data.x()[i * features + j];
                for (int c = 0; c < outputs; c++) sumW[j * outputs + c] += x * g[i * outputs + c];
            }
            for (int c = 0; c < outputs; c++) sumB[c] += g[i * outputs + c];
        }
        for (int k = 0; k < w.length; k++) w[k] -= learningRate * (float) sumW[k];
        for (int c = 0; c < outputs; c++) b[c] -= learningRate * (float) sumB[c];
    }
}
