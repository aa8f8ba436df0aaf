package org.losskit.reference;

/**
 * Neumaier's compensated summation in double: the running error of each addition is kept and added back at the
 * end. Summing float32 values (or exact double products of two floats) this way is exact to about one double
 * rounding, so the float32 rounding of the result is the float nearest the exact sum.
 */
final class CompensatedSum {
    private double sum;
    private double compensation;

    void add(double value) {
        double t = sum + value;
        // Whichever operand is larger in magnitude keeps its low bits; the other's lost bits go to compensation.
        if (Math.abs(sum) >= Math.abs(value)) {
            compensation += (sum - t) + value;
        } else {
            compensation += (value - t) + sum;
        }
        sum = t;
    }

    double value() {
        double result = sum + compensation;
        // Infinite or NaN terms: the compensation is NaN (inf - inf) but the plain sum is the right answer.
        return Double.isFinite(sum) ? result : sum;
    }
}
