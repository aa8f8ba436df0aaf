package org.losskit.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.jetbrains.bio.npy.NpyArray;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import org.losskit.ErrorBound;
import org.losskit.LossEngine;
import org.losskit.LossEngine.BackendStatus;
import org.losskit.Reduction;

/**
 * {@code bench/run check}: for people who compare frameworks. Reads NumPy files (the input or logits, the target,
 * the options and, optionally, the loss and gradient PyTorch, JAX or anything else computed), runs the op on every
 * available backend, reports agreement in units of the op's documented float32 bound ({@code Op.float32Bound()}:
 * 0 is exact, 1 is at the bound, above 1 disagrees), and writes each backend's loss and gradient as .npy files.
 *
 * <p>Each backend is compared with the float64 reference backend (the bound every float32 backend documents) and,
 * when the file holds them, with the expected values (measured with the same bound; a float32 framework's own
 * rounding counts in that figure). Exit status: 0 when every comparison is within the bound, 1 otherwise, 2 for
 * bad arguments or input.
 */
public final class NpyCheck {

    @Command(name = "bench/run check", sortOptions = false, usageHelpWidth = 118,
            description = "Runs a loss on every available losskit backend with inputs from NumPy files and reports "
                    + "agreement in units of the op's documented bound; writes OUT/BACKEND.loss.npy and OUT/BACKEND.grad.npy.")
    static final class Arguments {
        @Parameters(arity = "0..1", paramLabel = "FILE.npz", description = "arrays by name: input (or logits), target, "
                + "weight, pos_weight, op, reduction, ignore_index, label_smoothing, beta, delta, loss, grad")
        Path npz;

        @Option(names = "--input", paramLabel = "FILE.npy", description = "the input (logits): 2-D rows x classes, or 1-D")
        Path input;

        @Option(names = "--target", paramLabel = "FILE.npy", description = "class indices (int32/int64) or floats of the input's shape")
        Path target;

        @Option(names = "--weight", paramLabel = "FILE.npy", description = "class weights (cross_entropy, nll_loss) or element weights")
        Path weight;

        @Option(names = "--pos-weight", paramLabel = "FILE.npy", description = "binary_cross_entropy_with_logits' pos_weight")
        Path posWeight;

        @Option(names = "--expected-loss", paramLabel = "FILE.npy", description = "the loss another framework computed")
        Path expectedLoss;

        @Option(names = "--expected-grad", paramLabel = "FILE.npy", description = "its gradient d loss / d input")
        Path expectedGrad;

        @Option(names = "--op", paramLabel = "NAME", description = "cross_entropy, nll_loss, binary_cross_entropy_with_logits, "
                + "mse_loss, l1_loss, smooth_l1_loss, huber_loss")
        String op;

        @Option(names = "--reduction", paramLabel = "R", description = "mean (default), sum or none; for none the gradient is that of the sum")
        String reduction;

        @Option(names = "--ignore-index", paramLabel = "N", description = "class index to ignore (default -100)")
        Long ignoreIndex;

        @Option(names = "--label-smoothing", paramLabel = "E", description = "cross_entropy's label smoothing (default 0)")
        Double labelSmoothing;

        @Option(names = "--beta", paramLabel = "B", description = "smooth_l1_loss' beta (default 1)")
        Double beta;

        @Option(names = "--delta", paramLabel = "D", description = "huber_loss' delta (default 1)")
        Double delta;

        @Option(names = "--backend", split = ",", paramLabel = "NAME", description = "backends to run; default: every available one")
        List<String> backends = new ArrayList<>();

        @Option(names = "--out", paramLabel = "DIR", description = "where the .npy outputs go (default: ${DEFAULT-VALUE})")
        Path out = Path.of("check-out");

        @Option(names = {"--help", "-h"}, usageHelp = true, description = "this text")
        boolean help;

        /** Every array by its .npz name: the file's entries, then the options given on the command line. */
        Map<String, NpyArray> arrays() {
            Map<String, NpyArray> arrays = new LinkedHashMap<>();
            if (npz != null) arrays.putAll(NpyArrays.readNpz(npz));
            putFile(arrays, "input", input);
            putFile(arrays, "target", target);
            putFile(arrays, "weight", weight);
            putFile(arrays, "pos_weight", posWeight);
            putFile(arrays, "loss", expectedLoss);
            putFile(arrays, "grad", expectedGrad);
            if (op != null) arrays.put("op", new NpyArray(new String[] {op}, ONE));
            if (reduction != null) arrays.put("reduction", new NpyArray(new String[] {reduction}, ONE));
            if (ignoreIndex != null) arrays.put("ignore_index", new NpyArray(new long[] {ignoreIndex}, ONE));
            if (labelSmoothing != null) arrays.put("label_smoothing", new NpyArray(new double[] {labelSmoothing}, ONE));
            if (beta != null) arrays.put("beta", new NpyArray(new double[] {beta}, ONE));
            if (delta != null) arrays.put("delta", new NpyArray(new double[] {delta}, ONE));
            return arrays;
        }

        private static void putFile(Map<String, NpyArray> arrays, String name, Path file) {
            if (file != null) arrays.put(name, NpyArrays.readNpy(file));
        }
    }

    /** Shape (1,) for scalars: the npy reader takes no 0-d arrays, so outputs are written the way inputs must be. */
    private static final int[] ONE = {1};

    /** One backend's agreement: fractions of the bound, NaN where there was nothing to compare with. */
    record Agreement(String backend, double value, double lossVsReference, double gradientVsReference,
                     double lossVsExpected, double gradientVsExpected) {
        boolean within() {
            // NaN: nothing to compare with (no expected values in the input)
            return !(lossVsReference > 1 || gradientVsReference > 1 || lossVsExpected > 1 || gradientVsExpected > 1);
        }
    }

    private NpyCheck() {}

    /** Whether the NumPy reader is on the class path (the GPU bundle leaves it out). */
    static boolean readerPresent() {
        try {
            Class.forName("org.jetbrains.bio.npy.NpyFile", false, NpyCheck.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException | LinkageError e) {
            return false;
        }
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out));
    }

    /** Runs the check with {@code args}, printing to {@code out}; returns the exit status. */
    public static int run(String[] args, PrintStream out) {
        Arguments a = new Arguments();
        CommandLine line = new CommandLine(a);
        CheckInputs in;
        try {
            line.parseArgs(args);
            if (line.isUsageHelpRequested()) {
                out.println(line.getUsageMessage(CommandLine.Help.Ansi.OFF));
                return 0;
            }
            in = CheckInputs.from(a.arrays());
        } catch (CommandLine.ParameterException | IllegalArgumentException e) {
            System.err.println("bench/run check: " + e.getMessage());
            System.err.println("(bench/run check --help lists the options)");
            return 2;
        }
        List<String> backends;
        try {
            backends = chooseBackends(a.backends);
        } catch (IllegalArgumentException e) {
            System.err.println("bench/run check: " + e.getMessage());
            return 2;
        }
        try {
            return check(in, backends, a.out, out);
        } catch (IllegalArgumentException e) {
            System.err.println("bench/run check: losskit refused the input: " + e.getMessage());
            return 2;
        } catch (IOException e) {
            System.err.println("bench/run check: cannot write to " + a.out + ": " + e);
            return 2;
        }
    }

    private static List<String> chooseBackends(List<String> requested) {
        List<BackendStatus> statuses = LossEngine.availableBackends();
        List<String> available = statuses.stream().filter(BackendStatus::available).map(BackendStatus::name).toList();
        if (requested.isEmpty()) return available;
        for (String name : requested) {
            if (!available.contains(name)) {
                throw new IllegalArgumentException("--backend: '" + name + "' cannot run here; available: " + available);
            }
        }
        return List.copyOf(requested);
    }

    static int check(CheckInputs in, List<String> backends, Path outFolder, PrintStream out) throws IOException {
        ErrorBound bound = in.op().op().float32Bound();
        CheckOp.Result exact;
        try (LossEngine reference = LossEngine.builder().backend("reference").build()) {
            exact = in.op().run(reference, in);
        }
        Files.createDirectories(outFolder);
        out.printf(Locale.ROOT, "bench/run check: %s, %s, input %dx%d, reduction %s%n", in.op().torchName(),
                in.labels() != null ? "class-index targets" : "float targets", in.rows(), in.cols(),
                in.reduction().name().toLowerCase(Locale.ROOT));
        out.printf(Locale.ROOT, "agreement as a fraction of losskit's documented float32 bound for %s (%s): 0 exact, 1 at the bound%n",
                in.op().op(), bound);
        out.printf(Locale.ROOT, "  %-10s %16s %12s %12s %12s %12s%n", "backend", "loss", "vs reference", "grad vs ref",
                "vs expected", "grad vs exp");
        List<Agreement> rows = new ArrayList<>();
        for (String backend : backends) {
            CheckOp.Result result;
            try (LossEngine engine = LossEngine.builder().backend(backend).fallbackToReference(false).cudaHostCrossoverElements(0).build()) {
                result = in.op().run(engine, in);
            }
            Agreement agreement = new Agreement(backend, result.value(),
                    lossFraction(bound, result, exact.value(), exact.losses() == null ? null : toDoubles(exact.losses())),
                    CrossCheck.gradientFraction(bound, result.gradient(), exact.gradient()),
                    in.expectedLoss() == null ? Double.NaN : lossFraction(bound, result, expectedValue(in), expectedLosses(in)),
                    in.expectedGradient() == null ? Double.NaN : CrossCheck.gradientFraction(bound, result.gradient(), in.expectedGradient()));
            rows.add(agreement);
            out.printf(Locale.ROOT, "  %-10s %16.9g %12s %12s %12s %12s%n", backend, result.value(),
                    cell(agreement.lossVsReference()), cell(agreement.gradientVsReference()),
                    cell(agreement.lossVsExpected()), cell(agreement.gradientVsExpected()));
            write(outFolder, backend, in, result);
        }
        boolean allWithin = rows.stream().allMatch(r -> r.within());
        out.println(allWithin ? "check: every backend agrees within the bound; outputs in " + outFolder
                : "check: DISAGREEMENT above the bound (a fraction > 1 above); outputs in " + outFolder);
        return allWithin ? 0 : 1;
    }

    /** The expected returned value: the loss file's value, or the sum of its per-item losses for reduction none. */
    private static double expectedValue(CheckInputs in) {
        double[] e = in.expectedLoss();
        if (e.length == 1) return e[0];
        double sum = 0;
        for (double v : e) sum += v;
        return sum;
    }

    private static double[] expectedLosses(CheckInputs in) {
        return in.expectedLoss().length > 1 || in.reduction() == Reduction.NONE ? in.expectedLoss() : null;
    }

    /** The worst fraction of the loss bound over the returned value and, for reduction none, every per-item loss. */
    private static double lossFraction(ErrorBound bound, CheckOp.Result actual, double exactValue, double[] exactLosses) {
        double worst = exactLosses != null && actual.losses() != null ? 0 : bound.lossErrorFraction(actual.value(), exactValue);
        if (exactLosses != null && actual.losses() != null) {
            if (exactLosses.length != actual.losses().length) {
                throw new IllegalArgumentException("the expected loss has " + exactLosses.length + " values, losskit "
                        + actual.losses().length + " per-item losses");
            }
            for (int i = 0; i < exactLosses.length; i++) worst = Math.max(worst, bound.lossErrorFraction(actual.losses()[i], exactLosses[i]));
        }
        return worst;
    }

    private static double[] toDoubles(float[] values) {
        double[] d = new double[values.length];
        for (int i = 0; i < values.length; i++) d[i] = values[i];
        return d;
    }

    /**
     * OUT/BACKEND.loss.npy (the returned value as a float64 array of shape (1,); for reduction none the per-item float32 losses)
     * and OUT/BACKEND.grad.npy (float32, the input's shape).
     */
    private static void write(Path folder, String backend, CheckInputs in, CheckOp.Result result) {
        if (result.losses() != null) {
            NpyArrays.writeFloats(folder.resolve(backend + ".loss.npy"), result.losses(), new int[] {result.losses().length});
        } else {
            NpyArrays.writeDoubles(folder.resolve(backend + ".loss.npy"), new double[] {result.value()}, ONE);
        }
        NpyArrays.writeFloats(folder.resolve(backend + ".grad.npy"), result.gradient(), in.inputShape());
    }

    /** A fraction of the bound for the table; "-" where nothing was compared. */
    private static String cell(double fraction) {
        return Double.isNaN(fraction) ? "-" : Report.fraction(fraction);
    }
}
