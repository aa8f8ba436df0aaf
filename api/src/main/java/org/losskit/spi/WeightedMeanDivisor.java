package org.losskit.spi;

import org.losskit.Matrix;
import org.losskit.Reduction;

/**
 * The divisor of PyTorch's {@code mean} for class-index losses (cross-entropy, NLL): the summed class weights
 * {@code w_y} of the target classes of the rows that are not ignored. Over no rows the mean is NaN (0 / 0), or 0 when
 * the caller asked for that. For host-resident targets; a device backend computes the same sum on the device.
 *
 * @param targetWeightSum sum of w_y over the rows whose target is not the ignore index (w = 1 without class weights)
 * @param countedRows     how many rows that is
 */
public record WeightedMeanDivisor(double targetWeightSum, int countedRows) {

    /** Sums the target weights of {@code targets} (int32, validated); {@code classWeights} may be null. */
    public static WeightedMeanDivisor of(Matrix targets, int ignoreIndex, Matrix classWeights) {
        double sum = 0;
        int counted = 0;
        for (long r = 0; r < targets.size(); r++) {
            int y = targets.getInt(r);
            if (y == ignoreIndex) continue;
            sum += classWeights == null ? 1 : classWeights.getFloat(y);
            counted++;
        }
        return new WeightedMeanDivisor(sum, counted);
    }

    /** Factor from per-row derivatives to the gradient of the returned value. */
    public double gradientScale(Reduction reduction, long rows) {
        return reduction.gradientScale(targetWeightSum, rows);
    }

    /** The returned value from the sum of the row losses. */
    public double reduce(Reduction reduction, double total, long rows, boolean allIgnoredMeanIsZero) {
        if (reduction == Reduction.MEAN && countedRows == 0 && allIgnoredMeanIsZero) return 0;
        return reduction.reduce(total, targetWeightSum, rows);
    }
}
