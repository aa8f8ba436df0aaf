package org.losskit.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

import org.losskit.ReduceOp;

class PartialsTest {
    private static double[] pairs(double... xy) {
        return xy;
    }

    @Test
    void sumIsCompensatedAndInBlockOrder() {
        assertEquals(2.0, Partials.sum(pairs(1e16, 0, 1, 0, -1e16, 0, 1, 0), 4));
        assertEquals(0.0, Partials.sum(new double[0], 0));
        // only `count` partials count
        assertEquals(1.0, Partials.sum(pairs(1, 0, 5, 0), 1));
    }

    @Test
    void wholeArrayResults() {
        double[] sums = pairs(3, 0, 4, 0);
        assertEquals(7, Partials.reduce(ReduceOp.SUM, sums, 2, 10));
        assertEquals(0.7, Partials.reduce(ReduceOp.MEAN, sums, 2, 10), 1e-15);
        assertEquals(Math.sqrt(7), Partials.reduce(ReduceOp.L2_NORM, sums, 2, 10));
        assertEquals(Double.NaN, Partials.reduce(ReduceOp.MEAN, new double[0], 0, 0));
        assertEquals(Double.POSITIVE_INFINITY, Partials.reduce(ReduceOp.MIN, new double[0], 0, 0));
        assertEquals(Double.NEGATIVE_INFINITY, Partials.reduce(ReduceOp.MAX, new double[0], 0, 0));
        assertEquals(Double.NEGATIVE_INFINITY, Partials.reduce(ReduceOp.LOGSUMEXP, new double[0], 0, 0));
    }

    @Test
    void extremesKeepNaN() {
        assertEquals(-2, Partials.reduce(ReduceOp.MIN, pairs(3, 0, -2, 0), 2, 2));
        assertEquals(Double.NaN, Partials.reduce(ReduceOp.MAX, pairs(3, 0, Double.NaN, 0, 9, 0), 3, 3));
    }

    @Test
    void logSumExpMergesBlockStates() {
        // block 1: {0, 1} -> m = 1, s = exp(-1) + 1; block 2: {5} -> m = 5, s = 1; block 3: all -inf
        double[] partials = pairs(1, Math.exp(-1) + 1, 5, 1, Double.NEGATIVE_INFINITY, 0);
        double exact = Math.log(Math.exp(0) + Math.exp(1) + Math.exp(5));
        assertEquals(exact, Partials.reduce(ReduceOp.LOGSUMEXP, partials, 3, 3), 1e-14);
        assertEquals(Double.POSITIVE_INFINITY, Partials.logSumExp(pairs(1, 1, Double.POSITIVE_INFINITY, Double.NaN), 2));
        assertEquals(Double.NaN, Partials.logSumExp(pairs(Double.NaN, Double.NaN, 1, 1), 2));
    }

    @Test
    void argmaxTakesTheFirstLargestAndTheFirstNaN() {
        assertEquals(7, Partials.argmax(pairs(2, 9, 3, 7, 3, 8), 3));
        assertEquals(2, Partials.argmax(pairs(3, 9, 3, 2), 2)); // tie: lower index
        assertEquals(9, Partials.argmax(pairs(5, 1, Double.NaN, 9), 2));
        assertEquals(4, Partials.argmax(pairs(Double.NaN, 9, Double.NaN, 4), 2));
        assertEquals(3, Partials.argmax(pairs(0, -1, Double.NEGATIVE_INFINITY, 3), 2)); // -1: block saw nothing
        assertEquals(-1, Partials.argmax(pairs(0, -1), 1));
    }
}
