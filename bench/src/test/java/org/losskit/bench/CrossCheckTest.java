package org.losskit.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.losskit.ErrorBound;
import org.losskit.Op;
import org.losskit.bench.OpCases.Outcome;

/** The fractions the cross-check reports: they must flag an error the bound does not allow. */
class CrossCheckTest {
    private final ErrorBound bound = Op.CROSS_ENTROPY.float32Bound();

    @Test
    void identicalOutcomesUseNoneOfTheBound() {
        Outcome o = new Outcome(1.5, new float[] {1f, 2f}, new float[] {0.25f, -0.25f});
        assertEquals(0, CrossCheck.lossFraction(bound, o, o));
        assertEquals(0, CrossCheck.gradientFraction(bound, o.gradient(), o.gradient()));
    }

    @Test
    void aWrongPerRowLossOrGradientElementExceedsTheBound() {
        Outcome exact = new Outcome(1.5, new float[] {1f, 2f}, new float[] {0.25f, -0.25f});
        Outcome wrongRow = new Outcome(1.5, new float[] {1f, 2.01f}, exact.gradient());
        assertTrue(CrossCheck.lossFraction(bound, wrongRow, exact) > 1);
        assertTrue(CrossCheck.gradientFraction(bound, new float[] {0.25f, -0.2501f}, exact.gradient()) > 1);
    }

    @Test
    void nanWhereTheReferenceIsFiniteFails() {
        assertEquals(Double.POSITIVE_INFINITY, CrossCheck.gradientFraction(bound, new float[] {Float.NaN}, new float[] {0.5f}));
    }
}
