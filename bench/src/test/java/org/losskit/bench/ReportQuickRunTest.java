package org.losskit.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import javax.imageio.ImageIO;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.losskit.LossEngine;
import org.losskit.Op;

/** Runs the report as CI does ({@code --quick}) and checks what it wrote. */
class ReportQuickRunTest {
    private static final byte[] PNG_SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

    @TempDir
    static Path folder;
    static int exitStatus;
    static String console;
    static JsonNode report;

    @BeforeAll
    static void runQuickReport() throws IOException {
        System.setProperty("java.awt.headless", "true");
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        try (PrintStream out = new PrintStream(captured, true, StandardCharsets.UTF_8)) {
            exitStatus = Report.run(new String[] {"--quick", "--out", folder.toString()}, out);
        }
        console = captured.toString(StandardCharsets.UTF_8);
        report = new ObjectMapper().readTree(folder.resolve(ReportFiles.JSON).toFile());
    }

    @Test
    void everyCrossCheckPassesAndTheExitStatusSaysSo() {
        assertEquals(0, exitStatus, console);
        assertTrue(console.contains("cross-check: every op passed"), console);
    }

    @Test
    void jsonHasAnEntryForEveryOpOnEveryAvailableBackendWithAWorstErrorFraction() {
        List<String> available = LossEngine.availableBackends().stream()
                .filter(LossEngine.BackendStatus::available).map(LossEngine.BackendStatus::name).toList();
        assertFalse(available.isEmpty());
        Set<String> seen = new HashSet<>();
        for (JsonNode entry : report.get("crossCheck")) {
            String key = entry.get("backend").asText() + "/" + entry.get("op").asText();
            assertTrue(seen.add(key), "duplicate entry " + key);
            JsonNode fraction = entry.get("worstFraction");
            assertTrue(fraction.isNumber(), key + " has no numeric worstFraction: " + fraction);
            assertTrue(fraction.asDouble() >= 0 && fraction.asDouble() <= 1, key + " worst fraction " + fraction);
            assertTrue(entry.get("cases").asInt() > 0, key);
            assertTrue(entry.get("pass").asBoolean(), key);
        }
        List<String> expected = new ArrayList<>();
        for (String backend : available) {
            if (backend.equals(CrossCheck.REFERENCE)) continue; // the oracle is not checked against itself
            for (Op op : Op.values()) expected.add(backend + "/" + op.name());
        }
        assertEquals(new HashSet<>(expected), seen);
    }

    @Test
    void jsonRecordsTheLosskitVersionCommitJdkCpuAndVectorWidth() {
        JsonNode machine = report.get("meta").get("machine");
        for (String field : List.of("losskitVersion", "commit", "java", "javaVendor", "cpu")) {
            assertFalse(machine.get(field).asText().isBlank(), field + " in " + machine);
        }
        // the tests run with --add-modules jdk.incubator.vector (surefire.jvm.flags)
        assertTrue(machine.get("vectorBits").asInt() >= 128, machine.toString());
    }

    @Test
    void aMissingBackendIsExplainedOnceInTheBackendsTableAndNowhereElse() throws IOException {
        String markdown = Files.readString(folder.resolve(ReportFiles.MARKDOWN));
        for (JsonNode backend : report.get("backends")) {
            if (backend.get("available").asBoolean()) continue;
            String detail = backend.get("detail").asText();
            assertEquals(1, occurrences(markdown, detail), "said more than once: " + detail);
        }
        assertFalse(markdown.contains("| oracle |"), "no oracle rows");
    }

    @Test
    void jsonListsEveryBackendAndTheSweepFigures() {
        Set<String> backends = new HashSet<>();
        report.get("backends").forEach(b -> backends.add(b.get("name").asText()));
        assertTrue(backends.containsAll(Report.KNOWN_BACKENDS), backends.toString());
        assertTrue(report.get("sweep").size() > 0);
        for (JsonNode row : report.get("sweep")) {
            if (row.get("medianSeconds").isNull()) {
                assertFalse(row.get("note").asText().isBlank(), "a row without figure says why: " + row);
            } else {
                assertTrue(row.get("medianSeconds").asDouble() > 0, row.toString());
                assertEquals(row.get("elements").asDouble() / row.get("medianSeconds").asDouble(),
                        row.get("elementsPerSecond").asDouble(), 1e-6 * row.get("elementsPerSecond").asDouble());
            }
        }
        assertTrue(report.get("meta").get("timing").asText().contains("not JMH"));
    }

    private static int occurrences(String text, String part) {
        int count = 0;
        for (int at = text.indexOf(part); at >= 0; at = text.indexOf(part, at + 1)) count++;
        return count;
    }

    @Test
    void bothCudaSeriesHaveARowPerSizeWithAFigureOrNoneWithoutCuda() {
        boolean cuda = LossEngine.availableBackends().stream().anyMatch(b -> b.name().equals(Sweep.CUDA) && b.available());
        Set<String> hostBackendSizes = new HashSet<>(); // cpu and reference
        Set<String> hostSizes = new HashSet<>();
        Set<String> deviceSizes = new HashSet<>();
        for (JsonNode row : report.get("sweep")) {
            String key = row.get("workload").asText() + " " + row.get("shape").asText();
            switch (row.get("series").asText()) {
                case Sweep.CPU, CrossCheck.REFERENCE -> hostBackendSizes.add(key);
                case Sweep.CUDA_HOST -> hostSizes.add(key);
                case Sweep.CUDA_DEVICE -> deviceSizes.add(key);
                default -> { }
            }
        }
        assertFalse(hostBackendSizes.isEmpty());
        assertEquals(cuda ? hostBackendSizes : Set.of(), hostSizes);
        assertEquals(cuda ? hostBackendSizes : Set.of(), deviceSizes);
        assertTrue(report.get("crossovers").size() >= 3, "a crossover entry per workload");
        for (JsonNode crossover : report.get("crossovers")) {
            if (!cuda) assertEquals(Sweep.CUDA_NOT_AVAILABLE, crossover.get("note").asText());
        }
    }

    @Test
    void markdownExistsWithEveryChartLinked() throws IOException {
        String markdown = Files.readString(folder.resolve(ReportFiles.MARKDOWN));
        assertTrue(markdown.startsWith("# losskit report"));
        assertTrue(markdown.contains("## Cross-check against the reference"));
        for (String chart : charts()) assertTrue(markdown.contains("](" + chart + ")"), chart);
    }

    @Test
    void chartsAreNonEmptyPngFiles() throws IOException {
        List<String> charts = charts();
        assertTrue(charts.containsAll(List.of("throughput-cross-entropy.png", "throughput-bce-with-logits.png",
                "throughput-sum.png")), charts.toString());
        boolean cuda = LossEngine.availableBackends().stream().anyMatch(b -> b.name().equals(Sweep.CUDA) && b.available());
        assertEquals(cuda, charts.contains(Charts.CROSSOVER_CHART), "the crossover chart needs both sides measured: " + charts);
        for (String chart : charts) {
            byte[] bytes = Files.readAllBytes(folder.resolve(chart));
            assertTrue(bytes.length > 5_000, chart + " is only " + bytes.length + " bytes");
            assertArrayEquals(PNG_SIGNATURE, Arrays.copyOf(bytes, PNG_SIGNATURE.length), chart);
            BufferedImage image = ImageIO.read(folder.resolve(chart).toFile());
            assertNotNull(image, chart + " does not decode");
            assertTrue(image.getWidth() >= 640 && image.getHeight() >= 400, chart);
        }
    }

    @Test
    void chartsCanBeDrawnLaterFromTheJsonAlone(@TempDir Path elsewhere) throws IOException {
        Files.copy(folder.resolve(ReportFiles.JSON), elsewhere.resolve(ReportFiles.JSON));
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        try (PrintStream out = new PrintStream(captured, true, StandardCharsets.UTF_8)) {
            assertEquals(0, Report.run(new String[] {"--charts-from", elsewhere.toString()}, out));
        }
        for (String chart : charts()) {
            assertNotNull(ImageIO.read(elsewhere.resolve(chart).toFile()), chart + " redrawn");
        }
        assertTrue(Files.readString(elsewhere.resolve(ReportFiles.MARKDOWN)).contains("](throughput-sum.png)"));
    }

    private static List<String> charts() throws IOException {
        try (var files = Files.list(folder)) {
            return files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".png")).sorted().toList();
        }
    }
}
