package org.losskit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Building an engine logs its choice at DEBUG (java.util.logging FINE), never at INFO; a degraded automatic choice
 * is a WARNING once per JVM. In this module's tests only the reference backend is on the class path, so
 * {@code auto} is degraded here: it warns, naming the missing Vector API module.
 */
class SelectionLoggingTest {
    private final List<LogRecord> records = new CopyOnWriteArrayList<>();
    private final Handler capture = new Handler() {
        @Override public void publish(LogRecord record) { records.add(record); }
        @Override public void flush() {}
        @Override public void close() {}
    };
    private final Logger logger = Logger.getLogger("org.losskit");
    private Level levelBefore;

    @BeforeEach
    void captureEverything() {
        levelBefore = logger.getLevel();
        logger.setLevel(Level.ALL);
        logger.addHandler(capture);
        BackendSelection.DEGRADED_WARNING_LOGGED.set(false);
    }

    @AfterEach
    void restore() {
        logger.removeHandler(capture);
        logger.setLevel(levelBefore);
    }

    @Test
    void theChoiceIsLoggedAtDebugAndNothingAtInfo() {
        try (LossEngine engine = LossEngine.builder().backend("reference").build()) {
            assertEquals("reference", engine.backendName());
        }
        assertTrue(records.stream().anyMatch(r -> r.getLevel() == Level.FINE && r.getMessage().contains("requested by the engine builder")),
                "no DEBUG line for the explicit choice: " + messages());
        assertTrue(records.stream().noneMatch(r -> r.getLevel() == Level.INFO), "an INFO line: " + messages());
        assertTrue(records.stream().noneMatch(r -> r.getLevel() == Level.WARNING), "an explicit choice is not degraded: " + messages());
    }

    @Test
    void aDegradedAutomaticChoiceWarnsOncePerJvmWithTheFix() {
        for (int i = 0; i < 3; i++) {
            try (LossEngine engine = LossEngine.builder().backend("auto").build()) {
                assertEquals("reference", engine.backendName());
            }
        }
        List<LogRecord> warnings = records.stream().filter(r -> r.getLevel() == Level.WARNING).toList();
        assertEquals(1, warnings.size(), "one warning for three engines: " + messages());
        String warning = warnings.getFirst().getMessage();
        assertTrue(warning.contains("reference") && warning.contains("losskit-kernels-cpu"), warning);
        assertEquals(3, records.stream().filter(r -> r.getLevel() == Level.FINE && r.getMessage().contains("chosen automatically")).count(),
                "each engine logs its choice at DEBUG: " + messages());
    }

    @Test
    void onlyTheFullSpeedBackendsAreNotDegraded() {
        assertFalse(BackendSelection.isDegraded("cuda"));
        assertFalse(BackendSelection.isDegraded("cpu"));
        assertTrue(BackendSelection.isDegraded("reference"));
    }

    private List<String> messages() {
        return records.stream().map(r -> r.getLevel() + " " + r.getMessage()).toList();
    }
}
