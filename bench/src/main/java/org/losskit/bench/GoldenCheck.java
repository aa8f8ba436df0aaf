package org.losskit.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;

import org.losskit.ErrorBound;
import org.losskit.LossEngine;
import org.losskit.Op;
import org.losskit.testing.Discrepancies;
import org.losskit.testing.GoldenCases;
import org.losskit.testing.GoldenCases.GoldenCase;
import org.losskit.testing.GoldenRunner;

/**
 * The report's {@code --golden} mode: every case of every golden file (PyTorch 1.13 values, from the api test-jar
 * on the class path) through the public API of each backend, with the api tests' own {@link GoldenRunner}, so the
 * report and the module tests apply one set of rules. Each op is checked within the bound its backend documents:
 * {@link ErrorBound#REFERENCE} for the reference, {@link Op#float32Bound()} for the float32 backends.
 */
final class GoldenCheck {
    private GoldenCheck() {}

    /**
     * One golden file (one op) on one backend. {@code worstFraction}: the largest share of the bound any value
     * used (infinite for a mismatch in kind or an exception); {@code firstProblems}: where it failed, at most a few.
     */
    record FileResult(String backend, String file, String op, int cases, List<String> ranOn, boolean pass,
                      double worstFraction, List<String> firstProblems) {}

    /** The golden files of the ops {@code selected} accepts, in {@link GoldenCases#FILES} order. */
    static List<String> files(Predicate<Op> selected) {
        return GoldenCases.FILES.stream().filter(f -> selected.test(GoldenCases.op(f))).toList();
    }

    /** Runs every case of {@code files} on each of {@code backends}, one progress step per file and backend. */
    static List<FileResult> run(List<String> backends, List<String> files, ProgressBar progress) {
        List<FileResult> results = new ArrayList<>();
        for (String backend : backends) {
            boolean reference = backend.equals(CrossCheck.REFERENCE);
            // Host data goes to the GPU at every size (crossover 0); ops a backend does not implement run on the
            // reference, and ranOn says so.
            try (LossEngine engine = LossEngine.builder().backend(backend).cudaHostCrossoverElements(0).build()) {
                GoldenRunner runner = new GoldenRunner(engine, op -> reference ? ErrorBound.REFERENCE : op.float32Bound());
                for (String file : files) {
                    progress.advance(1, "golden " + backend + " " + file);
                    results.add(runFile(backend, engine, runner, file));
                }
            }
        }
        return results;
    }

    private static FileResult runFile(String backend, LossEngine engine, GoldenRunner runner, String file) {
        Op op = GoldenCases.op(file);
        Set<String> ranOn = new TreeSet<>();
        ranOn.add(engine.backendFor(op, 1));
        List<GoldenCase> cases;
        try {
            cases = GoldenCases.load(file);
        } catch (RuntimeException e) {
            return new FileResult(backend, file, op.name(), 0, List.copyOf(ranOn), false, Double.POSITIVE_INFINITY,
                    List.of("cannot load the golden file: " + e.getMessage()
                            + " (the golden vectors travel in losskit-api's test-jar, bench/target/lib)"));
        }
        Discrepancies discrepancies = new Discrepancies();
        for (GoldenCase c : cases) runner.run(c, discrepancies);
        boolean pass = !cases.isEmpty() && discrepancies.isEmpty();
        List<String> problems = cases.isEmpty() ? List.of("the file holds no cases") : discrepancies.shown().stream().limit(3).toList();
        return new FileResult(backend, file, op.name(), cases.size(), List.copyOf(ranOn), pass, discrepancies.worstFraction(), problems);
    }
}
