package org.losskit.bench;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

import org.losskit.Op;

/**
 * The report command's options, parsed and checked; bad input throws {@link IllegalArgumentException} naming the
 * option and the value.
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
 */
record ReportOptions(List<String> backends, Set<Op> ops, List<Sweep.Point> points, boolean quick, Path out,
                     boolean peers, boolean sweep, long seed, Path chartsFrom, boolean golden, boolean help) {

    static final long DEFAULT_SEED = 20261122L;

    static final String USAGE = """
            usage: bench/run [options]      (the benchmark and cross-check report)
              --backend NAME[,NAME...]  backends to check and time (cpu, cuda, reference); default: all available
              --ops OP[,OP...]          catalogue ops to check and time, e.g. CROSS_ENTROPY,BCE_WITH_LOGITS,REDUCTION
                                        (REDUCTION covers the sum sweep); default: all
              --sizes S[,S...]          sweep sizes: ROWSxVOCAB for cross-entropy (8x128256), a plain number of
                                        elements for BCE-with-logits and sum (1048579); default: 1, 8, 64 rows of
                                        32000, 50257, 128256, 151936 and 4099 .. 16777219 elements
              --quick                   whole run in under a minute (what CI runs)
              --out DIR                 report folder (default: report)
              --peers                   also time libtorch through DJL (needs the djl profile: ./mvnw -Pdjl ...)
              --no-sweep                cross-check only
              --golden                  instead of the random cross-check and the sweep: every golden case (PyTorch
                                        values, losskit-api test-jar) through every backend, pass/fail per op with
                                        the worst error as a fraction of the op's bound (--ops and --backend apply)
              --seed N                  seed of the random inputs (default 20261122)
              --charts-from DIR         draw the charts of a report written elsewhere (e.g. by the GPU bundle,
                                        whose runtime draws none) from DIR/report.json, and update DIR/report.md
              --help
            also: bench/run --jmh [JMH options]   runs the JMH benchmarks (see docs/BENCHMARKS.md); the bundle's
                  ./run --jmh ... does the same
            """;

    static ReportOptions parse(String... args) {
        List<String> backends = List.of();
        Set<Op> ops = EnumSet.noneOf(Op.class);
        List<Sweep.Point> points = null;
        boolean quick = false;
        Path out = Path.of("report");
        boolean peers = false;
        boolean sweep = true;
        long seed = DEFAULT_SEED;
        boolean help = false;
        boolean golden = false;
        Path chartsFrom = null;
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            switch (arg) {
                case "--backend" -> backends = splitList(arg, value(args, ++i, arg)).stream().map(s -> s.toLowerCase(Locale.ROOT)).toList();
                case "--ops" -> ops = parseOps(value(args, ++i, arg));
                case "--sizes" -> points = parseSizes(value(args, ++i, arg));
                case "--quick" -> quick = true;
                case "--out" -> out = Path.of(value(args, ++i, arg));
                case "--peers" -> peers = true;
                case "--no-sweep" -> sweep = false;
                case "--golden" -> golden = true;
                case "--seed" -> seed = parseLong(arg, value(args, ++i, arg));
                case "--charts-from" -> chartsFrom = Path.of(value(args, ++i, arg));
                case "--help", "-h" -> help = true;
                default -> throw new IllegalArgumentException("unknown option " + arg);
            }
        }
        return new ReportOptions(backends, ops, points, quick, out, peers, sweep, seed, chartsFrom, golden, help);
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

    private static String value(String[] args, int i, String option) {
        if (i >= args.length || args[i].startsWith("--")) throw new IllegalArgumentException(option + " needs a value");
        return args[i];
    }

    private static List<String> splitList(String option, String value) {
        List<String> items = new ArrayList<>();
        for (String item : value.split(",")) {
            if (!item.isBlank()) items.add(item.trim());
        }
        if (items.isEmpty()) throw new IllegalArgumentException(option + " needs at least one item, got '" + value + "'");
        return items;
    }

    private static Set<Op> parseOps(String value) {
        Set<Op> ops = EnumSet.noneOf(Op.class);
        for (String item : splitList("--ops", value)) {
            String name = item.toUpperCase(Locale.ROOT).replace('-', '_');
            try {
                ops.add(Op.valueOf(name));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--ops: unknown op '" + item + "'; the ops are " + List.of(Op.values()));
            }
        }
        return ops;
    }

    private static List<Sweep.Point> parseSizes(String value) {
        List<Sweep.Point> points = new ArrayList<>();
        List<Integer> flat = new ArrayList<>();
        for (String item : splitList("--sizes", value)) {
            int x = item.toLowerCase(Locale.ROOT).indexOf('x');
            if (x >= 0) {
                int rows = parsePositive("--sizes", item, item.substring(0, x));
                int vocabulary = parsePositive("--sizes", item, item.substring(x + 1));
                Math.multiplyExact(rows, vocabulary);
                points.add(new Sweep.Point(Workload.CROSS_ENTROPY, rows, vocabulary));
            } else {
                flat.add(parsePositive("--sizes", item, item));
            }
        }
        for (Workload w : List.of(Workload.BCE_WITH_LOGITS, Workload.SUM)) {
            for (int n : flat) points.add(new Sweep.Point(w, 1, n));
        }
        return points;
    }

    private static int parsePositive(String option, String item, String number) {
        try {
            int n = Integer.parseInt(number.trim().replace("_", ""));
            if (n < 1) throw new NumberFormatException();
            return n;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + ": '" + item + "' is not a positive size (ROWSxVOCAB or ELEMENTS)");
        }
    }

    private static long parseLong(String option, String value) {
        try {
            return Long.parseLong(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + ": '" + value + "' is not an integer");
        }
    }
}
