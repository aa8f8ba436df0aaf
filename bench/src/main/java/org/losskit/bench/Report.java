package org.losskit.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.ServiceLoader;

import org.losskit.LossEngine;
import org.losskit.LossEngine.BackendStatus;

/**
 * The benchmark and cross-check report: the project's main command ({@code bench/run}).
 * <ol>
 *   <li>Lists the backends found and, for each one that cannot run here, why and the fix.</li>
 *   <li>Cross-checks every op of the catalogue on every available backend against the reference on random data,
 *       pass or fail per op with the worst error as a fraction of the op's documented bound.</li>
 *   <li>Times cross-entropy, BCE-with-logits and sum over a range of sizes on every backend (quick timing: warm-up,
 *       several samples, median), and marks where the GPU starts to beat the CPU.</li>
 *   <li>Prints the tables and writes a report folder: {@code report.md}, {@code report.json} (raw figures) and PNG
 *       charts.</li>
 * </ol>
 * Exit status: 0 when every cross-check passed, 1 when one failed, 2 for bad options.
 */
public final class Report {

    private Report() {}

    public static void main(String[] args) {
        if (args.length > 0 && args[0].equals("check")) {
            if (!NpyCheck.readerPresent()) {
                System.err.println("bench/run check: the NumPy reader (org.jetbrains.bio:npy) is not on the class path; "
                        + "the GPU bundle leaves it out to stay small: run the check with bench/run on a machine with a JDK");
                System.exit(2);
            }
            System.exit(NpyCheck.run(java.util.Arrays.copyOfRange(args, 1, args.length), System.out));
        }
        if (args.length > 0 && args[0].equals("tour")) {
            System.exit(org.losskit.bench.tour.Tour.run(java.util.Arrays.copyOfRange(args, 1, args.length), System.out));
        }
        System.setProperty("java.awt.headless", "true");
        System.exit(run(args, System.out));
    }

    /** Runs the report with {@code args}, printing to {@code out} (the progress bar goes to stderr). */
    static int run(String[] args, PrintStream out) {
        ReportOptions options;
        try {
            options = ReportOptions.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("bench: " + e.getMessage());
            System.err.print(ReportOptions.usage());
            return 2;
        }
        if (options.help()) {
            out.println(ReportOptions.usage());
            return 0;
        }
        if (options.chartsFrom() != null) {
            try {
                List<String> written = ReportFiles.redraw(options.chartsFrom());
                out.println("charts drawn in " + options.chartsFrom() + ": " + String.join(", ", written));
                return 0;
            } catch (IOException e) {
                System.err.println("bench: could not redraw " + options.chartsFrom() + ": " + e);
                return 1;
            }
        }

        List<BackendStatus> statuses = withMissingModules(LossEngine.availableBackends());
        List<String> backends;
        try {
            backends = chooseBackends(statuses, options.backends());
        } catch (IllegalArgumentException e) {
            System.err.println("bench: " + e.getMessage());
            return 2;
        }
        out.println("losskit report  " + ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME)
                + (options.quick() ? "  (--quick)" : ""));
        out.println(Machine.describe());
        out.println();
        ConsoleTables.printBackends(out, statuses);
        String defaultChoice = defaultEngineChoice();
        out.println("  LossEngine.create() picks: " + defaultChoice);

        boolean cudaAvailable = statuses.stream().anyMatch(s -> s.name().equals(Sweep.CUDA) && s.available());
        if (options.golden()) return runGolden(options, args, out, statuses, defaultChoice, backends);

        List<Peer> peers = options.peers() ? loadPeers(out) : List.of();
        List<OpCases.OpCase> cases = OpCases.all(options.seed()).stream().filter(c -> options.selects(c.op())).toList();
        List<Sweep.Point> points = options.sweepPoints();
        // The reference is the oracle: it is not cross-checked against itself (the golden mode checks it).
        List<String> checked = backends.stream().filter(b -> !b.equals(CrossCheck.REFERENCE)).toList();
        ProgressBar progress = ProgressBar.onStderr(cases.size() * checked.size() + Sweep.steps(backends, peers, points));

        List<CrossCheck.OpResult> checks = new ArrayList<>();
        for (String backend : checked) checks.addAll(CrossCheck.run(backend, cases, options::selects, progress));
        QuickTimer timer = options.quick() ? QuickTimer.quick() : QuickTimer.standard();
        List<Sweep.Row> sweep = Sweep.run(backends, peers, points, timer, options.seed(), progress);
        progress.finish();
        peers.forEach(Peer::close);
        List<Sweep.Crossover> crossovers = points.isEmpty() ? List.of() : Sweep.crossovers(sweep, backends, cudaAvailable);

        out.println();
        ConsoleTables.printCrossCheck(out, checks);
        if (!points.isEmpty()) {
            out.println();
            ConsoleTables.printSweep(out, sweep, timer, crossovers);
            out.println();
            ConsoleTables.printCrossovers(out, crossovers);
        }

        ReportFiles.Contents contents = new ReportFiles.Contents(meta(options, args, timer), statuses, defaultChoice,
                peers.stream().map(Peer::description).toList(), checks, List.of(), sweep, crossovers);
        if (!write(options, contents, out)) return 1;
        long failed = checks.stream().filter(c -> !c.pass()).count();
        out.println(checked.isEmpty() ? "cross-check: only the reference ran; it is the oracle, checked by --golden"
                : failed == 0 ? "cross-check: every op passed on " + checked
                : "cross-check: " + failed + " op(s) FAILED; see the table above");
        return failed == 0 ? 0 : 1;
    }

    /** The golden mode: the golden file of every selected op on every chosen backend; nothing is timed. */
    private static int runGolden(ReportOptions options, String[] args, PrintStream out, List<BackendStatus> statuses,
                                 String defaultChoice, List<String> backends) {
        List<String> files = GoldenCheck.files(options::selects);
        ProgressBar progress = ProgressBar.onStderr(backends.size() * files.size());
        List<GoldenCheck.FileResult> golden = GoldenCheck.run(backends, files, progress);
        progress.finish();
        out.println();
        ConsoleTables.printGolden(out, golden);
        ReportFiles.Contents contents = new ReportFiles.Contents(meta(options, args, null), statuses, defaultChoice,
                List.of(), List.of(), golden, List.of(), List.of());
        if (!write(options, contents, out)) return 1;
        long failed = golden.stream().filter(g -> !g.pass()).count();
        out.println(failed == 0 ? "golden: every op passed on " + backends
                : "golden: " + failed + " op(s) FAILED; see the table above");
        return failed == 0 ? 0 : 1;
    }

    private static ReportFiles.Meta meta(ReportOptions options, String[] args, QuickTimer timer) {
        return new ReportFiles.Meta(ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME), options.quick(),
                options.seed(), String.join(" ", args), Machine.current(), QuickTimer.DESCRIPTION, timer);
    }

    /** Writes the report folder and says where; false (with the reason on stderr) when it cannot. */
    private static boolean write(ReportOptions options, ReportFiles.Contents contents, PrintStream out) {
        try {
            Path folder = options.out();
            Files.createDirectories(folder);
            List<String> written = ReportFiles.write(folder, contents);
            out.println();
            out.println("report written to " + folder.toAbsolutePath().normalize() + ": " + String.join(", ", written));
            return true;
        } catch (IOException e) {
            System.err.println("bench: could not write the report to " + options.out() + ": " + e);
            return false;
        }
    }

    /**
     * What an application gets from {@link LossEngine#create()} here (honouring {@code losskit.backend} and
     * {@code LOSSKIT_BACKEND}); the engine logs why it skipped the others.
     */
    static String defaultEngineChoice() {
        try (LossEngine engine = LossEngine.create()) {
            return engine.backendName() + " (" + engine.backendDescription() + ")";
        } catch (RuntimeException e) {
            return "nothing: " + e.getMessage();
        }
    }

    /** The backends losskit ships; one whose provider is not on the class path is listed as not found. */
    static final List<String> KNOWN_BACKENDS = List.of("cuda", "cpu", "reference");

    /** {@code found} plus an unavailable entry for each known backend whose module is not on the class path. */
    static List<BackendStatus> withMissingModules(List<BackendStatus> found) {
        List<BackendStatus> all = new ArrayList<>(found);
        for (String name : KNOWN_BACKENDS) {
            if (found.stream().noneMatch(s -> s.name().equals(name))) {
                all.add(new BackendStatus(name, false, "no provider found: losskit-kernels-" + name
                        + " is not on the class path (or does not register a BackendProvider)",
                        "build it (./mvnw -q -B package -DskipTests) and run through bench/run, which puts bench/target/lib on the class path"));
            }
        }
        return List.copyOf(all);
    }

    /** The backends to run: the requested ones (each must be available), or every available one. */
    static List<String> chooseBackends(List<BackendStatus> statuses, List<String> requested) {
        List<String> available = statuses.stream().filter(BackendStatus::available).map(BackendStatus::name).toList();
        if (requested.isEmpty()) return available;
        for (String name : requested) {
            BackendStatus status = statuses.stream().filter(s -> s.name().equals(name)).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException("--backend: no backend named '" + name + "'; found "
                            + statuses.stream().map(BackendStatus::name).toList()));
            if (!status.available()) {
                throw new IllegalArgumentException("--backend: " + name + " cannot run here: " + status.detail()
                        + (status.fix().isEmpty() ? "" : " (fix: " + status.fix() + ")"));
            }
        }
        return List.copyOf(requested);
    }

    private static List<Peer> loadPeers(PrintStream out) {
        List<Peer> peers = new ArrayList<>();
        for (Peer peer : ServiceLoader.load(Peer.class)) peers.add(peer);
        if (peers.isEmpty()) {
            out.println("peers: none on the class path; build with the djl profile to time libtorch: "
                    + "./mvnw -q -B -Pdjl package -DskipTests && bench/run --peers");
        } else {
            peers.forEach(p -> out.println("peer: " + p.name() + " = " + p.description()));
        }
        out.println();
        return peers;
    }

    /** "1.23 G/s" style throughput for tables. */
    static String rate(double elementsPerSecond) {
        if (elementsPerSecond >= 1e9) return String.format(Locale.ROOT, "%.2f G/s", elementsPerSecond / 1e9);
        if (elementsPerSecond >= 1e6) return String.format(Locale.ROOT, "%.1f M/s", elementsPerSecond / 1e6);
        return String.format(Locale.ROOT, "%.0f /s", elementsPerSecond);
    }

    /** Seconds as the nearest of ns, us, ms, s. */
    static String duration(double seconds) {
        if (seconds < 1e-6) return String.format(Locale.ROOT, "%.0f ns", seconds * 1e9);
        if (seconds < 1e-3) return String.format(Locale.ROOT, "%.1f us", seconds * 1e6);
        if (seconds < 1) return String.format(Locale.ROOT, "%.2f ms", seconds * 1e3);
        return String.format(Locale.ROOT, "%.2f s", seconds);
    }

    /** A bound fraction for tables: "0.031", "ERROR" style. */
    static String fraction(double f) {
        if (Double.isInfinite(f)) return "inf";
        if (Double.isNaN(f)) return "NaN";
        return String.format(Locale.ROOT, f != 0 && f < 0.001 ? "%.1e" : "%.3f", f);
    }
}
