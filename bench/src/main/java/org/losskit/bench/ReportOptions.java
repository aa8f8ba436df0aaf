package org.losskit.bench;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import org.losskit.Op;

/**
 * The report command's options, parsed by picocli and checked; bad input throws {@link IllegalArgumentException}
 * naming the option and the value.
 *
 * @param backends backends to check and time; empty means every available one
 * @param ops      ops to cross-check and time; empty means the whole catalogue
 * @param points   sweep sizes; null means {@link Sweep#defaultPoints}
 * @param quick    the whole run in under a minute (CI): fewer sizes and shorter timing
 * @param out      folder the report is written to
 * @param peers    also time the peers found on the class path (libtorch through DJL)
 * @param sweep    false skips the throughput sweep (cross-check only)
 * @param seed     seed of every random input
 * @param chartsFrom a report folder whose charts to draw from its report.json (nothing is measured), or null
 * @param golden   run the golden vectors through every backend instead of the random cross-check and the sweep
 * @param help     print the usage and stop
 */
record ReportOptions(List<String> backends, Set<Op> ops, List<Sweep.Point> points, boolean quick, Path out,
                     boolean peers, boolean sweep, long seed, Path chartsFrom, boolean golden, boolean help) {

    static final long DEFAULT_SEED = 20261122L;

    /** The command line as picocli reads it; {@link #parse} turns it into checked options. */
    @Command(name = "bench/run", sortOptions = false, usageHelpWidth = 118,
            description = "The benchmark and cross-check report. Also: bench/run check ... (NumPy files against every "
                    + "backend, bench/run check --help); bench/run tour (the loss tour on real data, docs/tour/TOUR.md); "
                    + "bench/run --jmh [JMH options] (docs/BENCHMARKS.md).")
    static final class Arguments {
        @Option(names = "--backend", split = ",", paramLabel = "NAME",
                description = "backends to check and time (cpu, cuda, reference); default: all available")
        List<String> backends = new ArrayList<>();

        @Option(names = "--ops", split = ",", paramLabel = "OP",
                description = "catalogue ops to check and time, e.g. CROSS_ENTROPY,BCE_WITH_LOGITS,REDUCTION (REDUCTION "
                        + "covers the sum sweep); default: all")
        List<String> ops = new ArrayList<>();

        @Option(names = "--sizes", split = ",", paramLabel = "S",
                description = "sweep sizes: ROWSxVOCAB for cross-entropy (8x128256), a plain number of elements for "
                        + "BCE-with-logits and sum (1048579); default: 1, 8, 64 rows of 32000, 50257, 128256, 151936 "
                        + "and 4099 .. 16777219 elements")
        List<String> sizes;

        @Option(names = "--quick", description = "whole run in under a minute (what CI runs)")
        boolean quick;

        @Option(names = "--out", paramLabel = "DIR", description = "report folder (default: ${DEFAULT-VALUE})")
        Path out = Path.of("report");

        @Option(names = "--peers", description = "also time libtorch through DJL (needs the djl profile: ./mvnw -Pdjl ...)")
        boolean peers;

        @Option(names = "--no-sweep", description = "cross-check only")
        boolean noSweep;

        @Option(names = "--golden", description = "instead of the random cross-check and the sweep: every golden case "
                + "(PyTorch values, losskit-api test-jar) through every backend, pass/fail per op with the worst error "
                + "as a fraction of the op's bound (--ops and --backend apply)")
        boolean golden;

        @Option(names = "--seed", paramLabel = "N", description = "seed of the random inputs (default ${DEFAULT-VALUE})")
        long seed = DEFAULT_SEED;

        @Option(names = "--charts-from", paramLabel = "DIR", description = "draw the charts of a report written "
                + "elsewhere (e.g. by the GPU bundle, whose runtime draws none) from DIR/report.json, and update DIR/report.md")
        Path chartsFrom;

        @Option(names = {"--help", "-h"}, usageHelp = true, description = "this text")
        boolean help;
    }

    /** The usage text, as {@code --help} prints it. */
    static String usage() {
        return new CommandLine(new Arguments()).getUsageMessage(CommandLine.Help.Ansi.OFF);
    }

    static ReportOptions parse(String... args) {
        Arguments a = new Arguments();
        CommandLine line = new CommandLine(a);
        line.setCaseInsensitiveEnumValuesAllowed(true);
        try {
            line.parseArgs(args);
        } catch (CommandLine.ParameterException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
        List<String> backends = a.backends.stream().map(String::trim).filter(s -> !s.isEmpty())
                .map(s -> s.toLowerCase(Locale.ROOT)).toList();
        return new ReportOptions(backends, parseOps(a.ops), a.sizes == null ? null : parseSizes(a.sizes), a.quick, a.out,
                a.peers, !a.noSweep, a.seed, a.chartsFrom, a.golden, line.isUsageHelpRequested());
    }

    /** The sweep points, the given ones or the defaults, restricted to the selected ops. */
    List<Sweep.Point> sweepPoints() {
        if (!sweep) return List.of();
        List<Sweep.Point> all = points != null ? points : Sweep.defaultPoints(quick);
        return all.stream().filter(p -> selects(p.workload().op())).toList();
    }

    boolean selects(Op op) {
        return ops.isEmpty() || ops.contains(op);
    }

    private static Set<Op> parseOps(List<String> items) {
        Set<Op> ops = EnumSet.noneOf(Op.class);
        for (String item : items) {
            if (item.isBlank()) continue;
            String name = item.trim().toUpperCase(Locale.ROOT).replace('-', '_');
            try {
                ops.add(Op.valueOf(name));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--ops: unknown op '" + item + "'; the ops are " + List.of(Op.values()));
            }
        }
        return ops;
    }

    private static List<Sweep.Point> parseSizes(List<String> items) {
        List<Sweep.Point> points = new ArrayList<>();
        List<Integer> flat = new ArrayList<>();
        for (String item : items) {
            if (item.isBlank()) continue;
            int x = item.toLowerCase(Locale.ROOT).indexOf('x');
            if (x >= 0) {
                int rows = parsePositive(item, item.substring(0, x));
                int vocabulary = parsePositive(item, item.substring(x + 1));
                try {
                    Math.multiplyExact(rows, vocabulary);
                } catch (ArithmeticException e) {
                    throw new IllegalArgumentException("--sizes: '" + item + "' has more than 2^31 - 1 elements");
                }
                points.add(new Sweep.Point(Workload.CROSS_ENTROPY, rows, vocabulary));
            } else {
                flat.add(parsePositive(item, item));
            }
        }
        if (points.isEmpty() && flat.isEmpty()) throw new IllegalArgumentException("--sizes needs at least one size");
        for (Workload w : List.of(Workload.BCE_WITH_LOGITS, Workload.SUM)) {
            for (int n : flat) points.add(new Sweep.Point(w, 1, n));
        }
        return points;
    }

    private static int parsePositive(String item, String number) {
        try {
            int n = Integer.parseInt(number.trim().replace("_", ""));
            if (n < 1) throw new NumberFormatException();
            return n;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--sizes: '" + item + "' is not a positive size (ROWSxVOCAB or ELEMENTS)");
        }
    }
}
