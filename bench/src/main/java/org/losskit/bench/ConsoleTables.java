package org.losskit.bench;

import java.io.PrintStream;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

import org.losskit.LossEngine.BackendStatus;

/** The report's tables on the console: fixed-width columns, one table per section. */
final class ConsoleTables {
    private ConsoleTables() {}

    static void printBackends(PrintStream out, List<BackendStatus> statuses) {
        out.println("backends");
        for (BackendStatus s : statuses) {
            out.printf("  %-10s %-13s %s%n", s.name(), s.available() ? "available" : "NOT AVAILABLE", s.detail());
            if (!s.available() && !s.fix().isEmpty()) out.printf("  %-10s %-13s fix: %s%n", "", "", s.fix());
        }
    }

    static void printCrossCheck(PrintStream out, List<CrossCheck.OpResult> checks) {
        out.println("cross-check against the reference (random data; worst error as a fraction of the op's documented bound, 1 = at the bound)");
        out.printf("  %-10s %-20s %-5s %6s %10s %10s  %-18s %s%n", "backend", "op", "", "cases", "loss", "gradient", "ran on", "worst case");
        for (CrossCheck.OpResult c : checks) {
            String verdict = c.oracle() ? "oracle" : c.pass() ? "pass" : "FAIL";
            String worst = c.error() != null ? "error: " + c.error() : c.worstCase();
            out.printf("  %-10s %-20s %-5s %6d %10s %10s  %-18s %s%n", c.backend(), c.op(), verdict, c.cases(),
                    c.oracle() ? "-" : Report.fraction(c.worstLossFraction()),
                    c.oracle() ? "-" : Report.fraction(c.worstGradientFraction()),
                    String.join(",", c.ranOn()), worst);
        }
    }

    static void printGolden(PrintStream out, List<GoldenCheck.FileResult> results) {
        out.println("golden vectors (PyTorch 1.13, every case through the public API; worst error as a fraction of the op's bound, 1 = at the bound)");
        out.printf("  %-10s %-20s %-5s %6s %10s  %-18s %s%n", "backend", "op", "", "cases", "worst", "ran on", "first problem");
        for (GoldenCheck.FileResult g : results) {
            out.printf("  %-10s %-20s %-5s %6d %10s  %-18s %s%n", g.backend(), g.op(), g.pass() ? "pass" : "FAIL", g.cases(),
                    Report.fraction(g.worstFraction()), String.join(",", g.ranOn()),
                    g.firstProblems().isEmpty() ? "" : g.firstProblems().getFirst());
        }
    }

    /**
     * The row's note, and where this row is the first size of a crossover (the GPU series faster from here on),
     * a mark that says so: the table shows the crossover where it happens.
     */
    static String noteWithCrossover(Sweep.Row r, List<Sweep.Crossover> crossovers) {
        String note = r.note() == null ? "" : r.note();
        for (Sweep.Crossover c : crossovers) {
            if (c.gpuFasterFromElements() != null && c.workload().equals(r.workload()) && c.gpuSeries().equals(r.series())
                    && c.gpuFasterFromElements() == r.elements()) {
                String mark = "<- CROSSOVER: " + r.series() + " beats " + c.cpuSeries() + " from here on"
                        + (r.series().equals(Sweep.CUDA_HOST) ? " (host data, copies included)" : " (device-resident data)");
                note = note.isEmpty() ? mark : note + "  " + mark;
            }
        }
        return note;
    }

    static void printSweep(PrintStream out, List<Sweep.Row> rows, QuickTimer timer, List<Sweep.Crossover> crossovers) {
        out.println("throughput sweep (" + QuickTimer.DESCRIPTION + ")");
        out.printf("  %-25s %-16s %-14s %10s %11s  %s%n", "workload", "series", "shape", "per call", "elements/s", "vs CPU");
        String baseline = rows.stream().anyMatch(r -> r.series().equals(Sweep.CPU) && r.hasFigure()) ? Sweep.CPU : CrossCheck.REFERENCE;
        Map<String, Double> baselineSeconds = rows.stream()
                .filter(r -> r.series().equals(baseline) && r.hasFigure())
                .collect(Collectors.toMap(r -> r.workload() + "|" + r.shape(), Sweep.Row::medianSeconds, Math::min));
        // A series with no figure at any size (a backend that is not here) gets one line instead of one per size;
        // report.json and report.md keep every row.
        Map<String, Long> sizesPerSeries = rows.stream().collect(Collectors.groupingBy(ConsoleTables::seriesKey, Collectors.counting()));
        Map<String, Set<String>> notesOfMissingSeries = rows.stream().filter(r -> !r.hasFigure())
                .collect(Collectors.groupingBy(ConsoleTables::seriesKey, Collectors.mapping(r -> String.valueOf(r.note()), Collectors.toSet())));
        Set<String> printed = new HashSet<>();
        for (Sweep.Row r : rows) {
            if (!r.hasFigure()) {
                String key = seriesKey(r);
                Set<String> notes = notesOfMissingSeries.get(key);
                boolean wholeSeriesMissing = notes.size() == 1 && rows.stream().filter(x -> seriesKey(x).equals(key)).noneMatch(Sweep.Row::hasFigure);
                if (wholeSeriesMissing) {
                    if (printed.add(key)) {
                        out.printf("  %-25s %-16s %-14s %10s %11s  %s%n", r.workload(), r.series(),
                                "all " + sizesPerSeries.get(key) + " sizes", "-", "-", shortened(r.note()));
                    }
                    continue;
                }
                out.printf("  %-25s %-16s %-14s %10s %11s  %s%n", r.workload(), r.series(), r.shape(), "-", "-", shortened(r.note()));
                continue;
            }
            String versus = Optional.ofNullable(baselineSeconds.get(r.workload() + "|" + r.shape()))
                    .filter(s -> !r.series().equals(baseline))
                    .map(s -> String.format("%.2fx %s%s", s / r.medianSeconds(), baseline,
                            r.series().startsWith(Sweep.CUDA) && r.medianSeconds() < s ? "  <- GPU faster" : ""))
                    .orElse("");
            String crossover = noteWithCrossover(r, crossovers);
            out.printf("  %-25s %-16s %-14s %10s %11s  %s%n", r.workload(), r.series(), r.shape(),
                    Report.duration(r.medianSeconds()), Report.rate(r.elementsPerSecond()),
                    crossover.isEmpty() ? versus : versus + "  " + crossover);
        }
    }

    private static String seriesKey(Sweep.Row r) {
        return r.workload() + "|" + r.series();
    }

    static void printCrossovers(PrintStream out, List<Sweep.Crossover> crossovers) {
        out.println("CPU against GPU");
        for (Sweep.Crossover c : crossovers) out.printf("  %-25s %s%n", c.workload(), c.note());
    }

    /** A long note cut for the console; report.json and report.md keep it whole, the backends table has the reason. */
    private static String shortened(String note) {
        return note.length() <= NOTE_WIDTH ? note : note.substring(0, NOTE_WIDTH - 3) + "...";
    }

    private static final int NOTE_WIDTH = 110;
}
