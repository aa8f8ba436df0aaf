package org.losskit.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.losskit.LossEngine;
import org.losskit.testing.GoldenCases;

/** The report's {@code --golden} mode: every golden file on every available backend, each within its bound. */
class ReportGoldenRunTest {

    @Test
    void everyGoldenOpIsPresentAndPassesOnEveryAvailableBackend(@TempDir Path folder) throws IOException {
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        int exitStatus;
        try (PrintStream out = new PrintStream(captured, true, StandardCharsets.UTF_8)) {
            exitStatus = Report.run(new String[] {"--golden", "--out", folder.toString()}, out);
        }
        String console = captured.toString(StandardCharsets.UTF_8);
        assertEquals(0, exitStatus, console);
        assertTrue(console.contains("golden: every op passed"), console);

        JsonNode report = new ObjectMapper().readTree(folder.resolve(ReportFiles.JSON).toFile());
        Set<String> seen = new HashSet<>();
        for (JsonNode g : report.get("golden")) {
            String key = g.get("backend").asText() + "/" + g.get("file").asText();
            assertTrue(seen.add(key), "duplicate " + key);
            assertTrue(g.get("pass").asBoolean(), key + ": " + g);
            assertTrue(g.get("cases").asInt() > 0, key);
            double worst = g.get("worstFraction").asDouble();
            assertTrue(worst >= 0 && worst <= 1, key + " worst fraction " + worst);
            assertEquals(GoldenCases.op(g.get("file").asText()).name(), g.get("op").asText());
        }
        Set<String> expected = new HashSet<>();
        for (LossEngine.BackendStatus b : LossEngine.availableBackends()) {
            if (!b.available()) continue;
            for (String file : GoldenCases.FILES) expected.add(b.name() + "/" + file);
        }
        assertTrue(expected.containsAll(GoldenCases.FILES.stream().map(f -> "reference/" + f).toList()), "the reference at least: " + expected);
        assertEquals(expected, seen);
        assertTrue(report.get("sweep").isEmpty() && report.get("crossCheck").isEmpty(), "the golden mode times nothing");
        assertTrue(Files.readString(folder.resolve(ReportFiles.MARKDOWN)).contains("## Golden vectors"));
    }
}
