package org.losskit.bench.tour;

/**
 * A reliability diagram and the expected calibration error of a classifier on a labelled set: rows binned by their
 * confidence (the largest softmax probability, {@code exp(maxLogit - logSumExp)} from losskit's diagnostics) into
 * {@link #BINS} equal bins (0, 0.1], (0.1, 0.2], ...; ECE = sum over bins of (rows in bin / rows) |accuracy - mean
 * confidence|.
 *
 * @param count          rows per bin
 * @param meanConfidence mean confidence per bin (NaN for an empty bin)
 * @param accuracy       fraction of the bin's rows whose predicted class is right (NaN for an empty bin)
 */
record Calibration(int[] count, double[] meanConfidence, double[] accuracy, double expectedCalibrationError,
                   double overallConfidence, double overallAccuracy) {
    static final int BINS = 10;

    static Calibration of(Tour.Diagnostics d, int[] labels) {
        int rows = labels.length;
        int[] count = new int[BINS];
        double[] confidence = new double[BINS], correct = new double[BINS];
        double allConfidence = 0, allCorrect = 0;
        for (int i = 0; i < rows; i++) {
            double p = Math.exp((double) d.maxLogit()[i] - d.logSumExp()[i]);
            int bin = Math.min(BINS - 1, Math.max(0, (int) Math.ceil(p * BINS) - 1));
            boolean right = d.argmax()[i] == labels[i];
            count[bin]++;
            confidence[bin] += p;
            correct[bin] += right ? 1 : 0;
            allConfidence += p;
            allCorrect += right ? 1 : 0;
        }
        double ece = 0;
        for (int b = 0; b < BINS; b++) {
            if (count[b] == 0) {
                confidence[b] = Double.NaN;
                correct[b] = Double.NaN;
                continue;
            }
            confidence[b] /= count[b];
            correct[b] /= count[b];
            ece += (double) count[b] / rows * Math.abs(correct[b] - confidence[b]);
        }
        return new Calibration(count, confidence, correct, ece, allConfidence / rows, allCorrect / rows);
    }
}
