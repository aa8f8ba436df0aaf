package org.losskit.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import org.losskit.LossEngine;
import org.losskit.spi.BackendProbe;

/**
 * The no-GPU path, which runs in CI here: the probe explains itself without throwing, {@code auto} falls back
 * with a logged reason, and an explicit request for cuda throws with the cause. Skipped on machines with a device.
 */
class CudaUnavailableTest {
    private static BackendProbe probe;

    @BeforeAll
    static void probeOnce() {
        probe = new CudaProvider().probe();
        System.out.println("cuda probe: available=" + probe.available() + ", " + probe.detail()
                + (probe.fix().isEmpty() ? "" : "; fix: " + probe.fix()));
    }

    @BeforeEach
    void requireNoDevice() {
        assumeFalse(probe.available(), "CUDA is available here (" + probe.detail() + "); the no-GPU path is tested elsewhere");
    }

    @Test
    void probeExplainsWhyAndHowToFixIt() {
        assertFalse(probe.available());
        assertFalse(probe.detail().isBlank());
        assertFalse(probe.fix().isBlank());
        assertSame(probe, new CudaProvider().probe(), "probed once per JVM");
    }

    @Test
    void autoFallsBackAndLogsTheReason() {
        List<String> messages = new CopyOnWriteArrayList<>();
        Handler capture = new Handler() {
            @Override public void publish(LogRecord record) { messages.add(record.getMessage()); }
            @Override public void flush() {}
            @Override public void close() {}
        };
        Logger logger = Logger.getLogger("org.losskit");
        Level levelBefore = logger.getLevel();
        logger.setLevel(Level.FINE); // the choice is logged at DEBUG
        logger.addHandler(capture);
        try (LossEngine engine = LossEngine.builder().backend("auto").build()) {
            assertNotEquals("cuda", engine.backendName());
        } finally {
            logger.removeHandler(capture);
            logger.setLevel(levelBefore);
        }
        assertTrue(messages.stream().anyMatch(m -> m.contains("skipped cuda: " + probe.detail())),
                "no log line names the reason cuda was skipped: " + messages);
    }

    @Test
    void createWithoutAChoicePicksAnotherBackend() {
        assumeFalse(System.getProperty("losskit.backend") != null || System.getenv("LOSSKIT_BACKEND") != null,
                "a backend is chosen by property or environment");
        try (LossEngine engine = LossEngine.create()) {
            assertNotEquals("cuda", engine.backendName());
        }
    }

    @Test
    void explicitRequestThrowsWithTheCause() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> LossEngine.builder().backend("cuda").build());
        assertTrue(e.getMessage().contains("'cuda'") && e.getMessage().contains(probe.detail()), e.getMessage());
        assertSame(probe.cause(), e.getCause());
    }

    @Test
    void listingShowsCudaUnavailableWithTheFix() {
        LossEngine.BackendStatus cuda = LossEngine.availableBackends().stream()
                .filter(s -> s.name().equals("cuda")).findFirst().orElseThrow();
        assertFalse(cuda.available());
        assertEquals(probe.fix(), cuda.fix());
    }

    @Test
    void deviceBuffersCannotBeAllocated() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> DeviceBuffer.allocate(1024));
        assertTrue(e.getMessage().contains(probe.detail()), e.getMessage());
    }

    @Test
    void openingAnywayThrows() {
        assertThrows(IllegalStateException.class, () -> new CudaProvider().open(org.losskit.spi.EngineSettings.defaults()));
    }
}
