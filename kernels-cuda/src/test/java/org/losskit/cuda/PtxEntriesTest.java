package org.losskit.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

/** The shipped PTX loads as text and declares every kernel the backend looks up, with the parameters it passes. */
class PtxEntriesTest {
    private static final PtxModule PTX = PtxModule.load();

    @Test
    void declaresEveryKernelWithItsParameterTypes() {
        for (Kernel kernel : Kernel.values()) {
            List<String> declared = PTX.entries().get(kernel.entry());
            assertNotNull(declared, "the PTX has no .entry " + kernel.entry() + "; it has " + PTX.entries().keySet());
            List<String> expected = kernel.parameters().stream().map(ParamType::ptxType).toList();
            assertEquals(expected, declared, "parameters of " + kernel.entry());
        }
    }

    @Test
    void hasNoEntryTheBackendDoesNotKnow() {
        Set<String> known = Stream.of(Kernel.values()).map(Kernel::entry).collect(Collectors.toSet());
        assertEquals(known, PTX.entries().keySet());
    }

    @Test
    void targetsTheLowestSupportedArchitectureAndTheDriverVersionTheProbeDemands() {
        assertEquals("sm_75", PTX.target());
        // PTX ISA 9.0 is CUDA 13.0's; the probe asks the driver for exactly that.
        assertEquals("9.0", PTX.version());
        assertEquals(13000, PtxModule.REQUIRED_DRIVER_VERSION);
    }

    @Test
    void imageIsNulTerminatedAscii() {
        byte[] image = PTX.image();
        assertEquals(0, image[image.length - 1]);
        assertTrue(PTX.text().startsWith("//"));
    }

    @Test
    void parseRejectsTextThatIsNotPtx() {
        assertThrows(IllegalArgumentException.class, () -> PtxModule.parse("hello"));
    }

    @Test
    void parsesEntriesAndParameterTypes() {
        PtxModule m = PtxModule.parse(".version 9.0\n.target sm_75\n.visible .entry k(\n .param .u64 k_param_0,\n .param .f32 k_param_1\n)\n{}\n");
        assertEquals(List.of("u64", "f32"), m.entries().get("k"));
    }
}
