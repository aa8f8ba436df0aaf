package org.losskit.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import org.losskit.LossEngine.BackendStatus;

/**
 * The report folder: {@code report.json} (every raw figure, including each timing sample), {@code report.md} (the
 * same tables for people, with the charts) and the PNG charts of {@link Charts}.
 */
final class ReportFiles {
    static final String JSON = "report.json";
    static final String MARKDOWN = "report.md";

    private ReportFiles() {}

    /** What a run measured, exactly as {@code report.json} holds it. */
    record Contents(Meta meta, List<BackendStatus> backends, String defaultBackend, List<String> peers, List<CrossCheck.OpResult> crossCheck,
                    List<GoldenCheck.FileResult> golden, List<Sweep.Row> sweep, List<Sweep.Crossover> crossovers) {
        /** Reports written before a section existed read back with it empty. */
        Contents {
            crossCheck = crossCheck == null ? List.of() : crossCheck;
            golden = golden == null ? List.of() : golden;
            sweep = sweep == null ? List.of() : sweep;
            crossovers = crossovers == null ? List.of() : crossovers;
        }
    }

    record Meta(String date, boolean quick, long seed, String arguments, Machine machine, String timing, QuickTimer timer) {}

    /** Writes the charts, the JSON and the Markdown into {@code folder}; returns the file names. */
    static List<String> write(Path folder, Contents contents) throws IOException {
        List<String> written = new ArrayList<>();
        List<String> charts;
        String chartProblem = null;
        try {
            charts = Charts.write(folder, contents.sweep(), contents.crossovers());
        } catch (IOException | RuntimeException | LinkageError e) {
            // A host without fonts (libfreetype) cannot draw; the figures are still worth writing.
            charts = List.of();
            chartProblem = "charts could not be drawn here (" + e + "); draw them on a machine with a JDK: "
                    + "bench/run --charts-from " + folder;
            System.err.println("bench: " + chartProblem);
        }
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        json.writeValue(folder.resolve(JSON).toFile(), contents);
        written.add(JSON);
        Files.writeString(folder.resolve(MARKDOWN), markdown(contents, charts, chartProblem));
        written.add(MARKDOWN);
        written.addAll(charts);
        return written;
    }

    /** Reads {@code folder/report.json} and writes its charts and a fresh report.md that shows them. */
    static List<String> redraw(Path folder) throws IOException {
        Contents contents = new ObjectMapper().disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                .readValue(folder.resolve(JSON).toFile(), Contents.class);
        List<String> charts = Charts.write(folder, contents.sweep(), contents.crossovers());
        Files.writeString(folder.resolve(MARKDOWN), markdown(contents, charts, null));
        List<String> written = new ArrayList<>(charts);
        written.add(MARKDOWN);
        return written;
    }

    static String markdown(Contents c, List<String> charts, String chartProblem) {
        StringBuilder md = new StringBuilder();
        Machine m = c.meta().machine();
        md.append("# losskit report\n\n");
        md.append("- date: ").append(c.meta().date()).append(c.meta().quick() ? " (`--quick`)" : "").append('\n');
        md.append("- machine: ").append(m.cpu()).append(", ").append(m.cores()).append(" cores, ").append(m.os()).append('\n');
        md.append("- Java: ").append(m.java()).append(" (").append(m.vm()).append(", ").append(m.javaVendor()).append(")\n");
        md.append("- vector width: ").append(m.vectorBits() == null ? "no Vector API" : m.vectorBits() + "-bit float vectors").append('\n');
        md.append("- losskit: ").append(m.losskitVersion()).append(", commit ").append(m.commit()).append('\n');
        md.append("- arguments: `").append(c.meta().arguments().isEmpty() ? "(none)" : c.meta().arguments()).append("`, seed ")
                .append(c.meta().seed()).append('\n');
        md.append("- timing: ").append(c.meta().timing()).append("\n\n");

        md.append("## Backends\n\n| backend | available | detail | fix |\n|---|---|---|---|\n");
        for (BackendStatus s : c.backends()) {
            md.append("| ").append(s.name()).append(" | ").append(s.available() ? "yes" : "**no**").append(" | ")
                    .append(cell(s.detail())).append(" | ").append(cell(s.fix())).append(" |\n");
        }
        md.append("\n`LossEngine.create()` picks: ").append(cell(String.valueOf(c.defaultBackend()))).append('\n');
        if (!c.peers().isEmpty()) {
            md.append("\nPeers: ").append(String.join("; ", c.peers())).append('\n');
        }

        if (!c.golden().isEmpty()) {
            md.append("\n## Golden vectors\n\n")
                    .append("Every case of every golden file (PyTorch 1.13, float64) through the public API; worst error as a ")
                    .append("fraction of the op's bound (`ErrorBound.REFERENCE` for the reference, `Op.float32Bound()` otherwise).\n\n")
                    .append("| backend | golden file | op | result | cases | worst | ran on | first problems |\n|---|---|---|---|---|---|---|---|\n");
            for (GoldenCheck.FileResult g : c.golden()) {
                md.append("| ").append(g.backend()).append(" | ").append(g.file()).append(" | ").append(g.op()).append(" | ")
                        .append(g.pass() ? "pass" : "**FAIL**").append(" | ").append(g.cases()).append(" | ")
                        .append(Report.fraction(g.worstFraction())).append(" | ").append(String.join(", ", g.ranOn())).append(" | ")
                        .append(cell(String.join("; ", g.firstProblems()))).append(" |\n");
            }
        }

        if (!c.crossCheck().isEmpty()) {
            md.append("\n## Cross-check against the reference\n\n")
                    .append("Random data, fixed seed; worst error as a fraction of the op's documented float32 bound ")
                    .append("(`Op.float32Bound()`): 0 is exact, 1 is at the bound, above 1 fails. The reference backend is the ")
                    .append("oracle and has no rows here; `bench/run --golden` checks it against PyTorch.\n\n")
                    .append("| backend | op | result | cases | loss | gradient | ran on | worst case |\n|---|---|---|---|---|---|---|---|\n");
            for (CrossCheck.OpResult r : c.crossCheck()) {
                md.append("| ").append(r.backend()).append(" | ").append(r.op()).append(" | ")
                        .append(r.oracle() ? "oracle" : r.pass() ? "pass" : "**FAIL**").append(" | ").append(r.cases()).append(" | ")
                        .append(r.oracle() ? "-" : Report.fraction(r.worstLossFraction())).append(" | ")
                        .append(r.oracle() ? "-" : Report.fraction(r.worstGradientFraction())).append(" | ")
                        .append(String.join(", ", r.ranOn())).append(" | ")
                        .append(cell(r.error() != null ? "error: " + r.error() : r.worstCase())).append(" |\n");
            }
        }

        if (!c.sweep().isEmpty()) {
            md.append("\n## Throughput\n\n").append(c.meta().timing()).append(".\n\n")
                    .append("| workload | series | shape | per call | elements/s | note |\n|---|---|---|---|---|---|\n");
            for (Sweep.Row r : c.sweep()) {
                md.append("| ").append(r.workload()).append(" | ").append(r.series()).append(" | ").append(r.shape()).append(" | ")
                        .append(r.hasFigure() ? Report.duration(r.medianSeconds()) : "-").append(" | ")
                        .append(r.hasFigure() ? Report.rate(r.elementsPerSecond()) : "-").append(" | ")
                        .append(cell(ConsoleTables.noteWithCrossover(r, c.crossovers()))).append(" |\n");
            }
            md.append("\n## CPU against GPU\n\n")
                    .append("Crossover: the size from which on the GPU beats the CPU at every larger size measured; for host data ")
                    .append("(\"cuda host\", copies included) it is where handing host arrays to the GPU starts to pay.\n\n");
            for (Sweep.Crossover x : c.crossovers()) md.append("- ").append(x.workload()).append(": ").append(x.note()).append('\n');
            md.append('\n');
            for (String chart : charts) md.append("![").append(chart).append("](").append(chart).append(")\n\n");
            if (chartProblem != null) md.append("_").append(cell(chartProblem)).append("_\n");
        }
        return md.toString();
    }

    private static String cell(String text) {
        return text.replace("|", "\\|").replace("\n", " ");
    }
}
