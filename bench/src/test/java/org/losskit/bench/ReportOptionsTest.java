package org.losskit.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.losskit.Op;

class ReportOptionsTest {

    @Test
    void sizesSplitIntoCrossEntropyShapesAndFlatSizes() {
        ReportOptions options = ReportOptions.parse("--sizes", "8x128256,1048579", "--ops", "cross-entropy,reduction");
        assertEquals(Set.of(Op.CROSS_ENTROPY, Op.REDUCTION), options.ops());
        assertEquals(List.of(new Sweep.Point(Workload.CROSS_ENTROPY, 8, 128256), new Sweep.Point(Workload.SUM, 1, 1048579)),
                options.sweepPoints());
    }

    @Test
    void quickDefaultsIncludeTheLargestVocabulary() {
        assertTrue(ReportOptions.parse("--quick").sweepPoints().contains(new Sweep.Point(Workload.CROSS_ENTROPY, 8, 151936)));
    }

    @Test
    void badInputNamesTheOptionAndValue() {
        var unknownOp = assertThrows(IllegalArgumentException.class, () -> ReportOptions.parse("--ops", "softmax"));
        assertTrue(unknownOp.getMessage().contains("'softmax'"), unknownOp.getMessage());
        var badSize = assertThrows(IllegalArgumentException.class, () -> ReportOptions.parse("--sizes", "8x0"));
        assertTrue(badSize.getMessage().contains("'8x0'"), badSize.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ReportOptions.parse("--out"));
        assertThrows(IllegalArgumentException.class, () -> ReportOptions.parse("--fast"));
    }

    @Test
    void anUnavailableBackendIsRefusedWithTheReasonAndFix() {
        var statuses = Report.withMissingModules(List.of());
        var e = assertThrows(IllegalArgumentException.class, () -> Report.chooseBackends(statuses, List.of("cuda")));
        assertTrue(e.getMessage().contains("cannot run here") && e.getMessage().contains("fix:"), e.getMessage());
    }
}
