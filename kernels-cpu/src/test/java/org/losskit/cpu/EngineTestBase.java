package org.losskit.cpu;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.losskit.LossEngine;

/** A cpu engine (no fallback, two threads) and a reference engine shared by a test class. */
abstract class EngineTestBase {
    static LossEngine cpu;
    static LossEngine reference;

    @BeforeAll
    static void openEngines() {
        assumeTrue(new VectorProvider().probe().available(), () -> "Vector API backend unavailable: " + new VectorProvider().probe());
        cpu = LossEngine.builder().backend("cpu").fallbackToReference(false).parallelism(2).build();
        reference = LossEngine.builder().backend("reference").build();
    }

    @AfterAll
    static void closeEngines() {
        if (cpu != null) cpu.close();
        if (reference != null) reference.close();
    }
}
