package org.losskit.testing;

import org.junit.jupiter.api.Test;
import org.losskit.ErrorBound;
import org.opentest4j.AssertionFailedError;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The comparison machinery of the golden and differential tests must reject what is outside a bound. */
class DiscrepanciesTest {
    private static final ErrorBound BOUND = new ErrorBound(1e-5, 1e-6, 1e-4, 1e-6);

    @Test
    void aLossOutsideTheBoundIsReportedWithWhereAndValues() {
        Discrepancies d = new Discrepancies();
        d.loss("ok", BOUND, 1.000001, 1.0);
        assertTrue(d.isEmpty(), "1e-6 relative is inside a 1e-5 bound");
        d.loss("case x: returned value", BOUND, 1.001, 1.0);
        AssertionFailedError e = assertThrows(AssertionFailedError.class, () -> d.assertNone("heading"));
        assertTrue(e.getMessage().contains("case x: returned value") && e.getMessage().contains("1.001"), e.getMessage());
    }

    @Test
    void nanMatchesOnlyNaNAndInfinitiesMatchOnlyThemselves() {
        Discrepancies d = new Discrepancies();
        d.loss("nan", BOUND, Double.NaN, Double.NaN);
        d.loss("inf", BOUND, Double.POSITIVE_INFINITY, Double.POSITIVE_INFINITY);
        assertTrue(d.isEmpty());
        d.loss("nan vs finite", BOUND, Double.NaN, 1);
        d.storedLoss("inf vs max", BOUND, Float.POSITIVE_INFINITY, Float.MAX_VALUE);
        d.gradient("finite vs nan", BOUND, new float[] {0}, new double[] {Double.NaN}, 1);
        assertThrows(AssertionFailedError.class, () -> d.assertNone("three mismatches in kind"));
    }

    @Test
    void storedFloatsMayBeOffByTheirRoundingAndNoMore() {
        double exact = 0.1; // not a float
        Discrepancies d = new Discrepancies();
        d.storedLoss("rounded", ErrorBound.REFERENCE, (float) exact, exact);
        d.gradient("rounded", ErrorBound.REFERENCE, new float[] {(float) exact}, new double[] {exact}, 1);
        assertTrue(d.isEmpty(), "the float nearest the exact value is accepted by the reference bound");
        d.storedLoss("one ulp off", ErrorBound.REFERENCE, Math.nextUp((float) exact), exact);
        assertFalse(d.isEmpty(), "a float one ulp away from the nearest is rejected by the reference bound");
    }

    @Test
    void gradientErrorsScaleWithTheLargestElement() {
        Discrepancies d = new Discrepancies();
        d.gradient("small element", BOUND, new float[] {1f, 1.5e-6f}, new double[] {1, 1e-6}, 2);
        assertDoesNotThrow(() -> d.assertNone("an error of 5e-7 next to an element of 1 is inside 1e-6 of the max"));
        d.gradient("too far", BOUND, new float[] {1f, 1e-5f}, new double[] {1, 1e-6}, 2);
        AssertionFailedError e = assertThrows(AssertionFailedError.class, () -> d.assertNone("heading"));
        assertTrue(e.getMessage().contains("too far[0, 1]"), "the index is named: " + e.getMessage());
    }

    @Test
    void theWorstFractionIsTheLargestShareOfItsToleranceAnyComparisonUsed() {
        Discrepancies d = new Discrepancies();
        assertEquals(0, d.worstFraction());
        d.loss("half the bound", BOUND, 1.0 + 0.5 * (1e-6 + 1e-5), 1.0);
        d.loss("exact", BOUND, 2.0, 2.0);
        assertEquals(0.5, d.worstFraction(), 1e-6);
        assertTrue(d.isEmpty());
        d.loss("twice the bound", BOUND, 1.0 + 2 * (1e-6 + 1e-5), 1.0);
        assertEquals(2, d.worstFraction(), 1e-6);
        assertEquals(1, d.count());
        d.equal("index", 3, 4);
        assertEquals(Double.POSITIVE_INFINITY, d.worstFraction(), "a failure that is not numeric is infinitely far off");
        assertEquals(2, d.shown().size());
    }
}
