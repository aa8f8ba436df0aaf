package org.losskit.bench.tour;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import org.losskit.CrossEntropyOptions;
import org.losskit.LossEngine;
import org.losskit.LossOutputs;
import org.losskit.Matrix;

/**
 * The loss tour ({@code bench/run tour}): small real datasets, linear models trained by full-batch gradient descent
 * with losskit's losses and gradients only, and what each loss does to the fit, the loss curves, the accuracy and
 * the calibration; every curve matched step by step against the same training in PyTorch. Writes {@code TOUR.md} and
 * its PNG charts into the output folder.
 */
public final class Tour {
    private Tour() {}

    /** A regression run: its loss, training result, validation MAE per step (target units) and the PyTorch match. */
    record RegressionRun(TourLoss loss, Trainer.Result result, CurveMatch.Match match) {
        String name() {
            return loss.run().name();
        }
    }

    /** A classification run, with the calibration of its trained model on the validation set. */
    record ClassificationRun(TourLoss loss, Trainer.Result result, CurveMatch.Match match, Calibration calibration,
                             double[] recallPerClass) {
        String name() {
            return loss.run().name();
        }
    }

    /** Per-row diagnostics of a model on the validation set, from one cross-entropy call, and its perplexity. */
    record Diagnostics(float[] logSumExp, float[] maxLogit, int[] argmax, float[] targetProbability, float[] entropy,
                       double perplexity) {}

    /**
     * Everything the page and the charts show.
     *
     * @param loadAverage the system load average when the tour started (-1 where the JVM cannot tell)
     * @param diagnosticsDeviation largest |losskit - PyTorch| per diagnostic of the untrained model ("untrained.entropy")
     *                             and of the trained one
     */
    record Results(String backend, TourSpec spec, TourData.Regression diabetes, TourData.Classification digits,
                   List<RegressionRun> regression, List<ClassificationRun> classification, Diagnostics untrained,
                   Diagnostics trained, Map<String, Double> diagnosticsDeviation, TorchCurves torch,
                   List<String> hashMismatches, long regressionNanos, long classificationNanos, double loadAverage) {

        boolean allMatch() {
            return hashMismatches.isEmpty() && regression.stream().allMatch(r -> r.match().within())
                    && classification.stream().allMatch(r -> r.match().within());
        }
    }

    /** Runs the whole tour on {@code engine}. */
    static Results run(LossEngine engine) {
        double load = java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
        TourSpec spec = TourSpec.load();
        TorchCurves torch = TorchCurves.load();
        TourData.Regression diabetes = TourData.diabetes(spec.regression());
        TourData.Classification digits = TourData.digits(spec.classification());
        List<String> mismatches = hashMismatches(spec, diabetes, digits, torch);

        long start = System.nanoTime();
        List<RegressionRun> regression = new ArrayList<>();
        for (TourSpec.Run run : spec.regression().runs()) {
            regression.add(regression(engine, spec.regression(), run, diabetes, torch));
        }
        long regressionNanos = System.nanoTime() - start;

        start = System.nanoTime();
        List<ClassificationRun> classification = new ArrayList<>();
        float[] initial = TourData.initialWeights(spec.classification(), digits.balanced().features(), digits.classes());
        for (TourSpec.Run run : spec.classification().runs()) {
            classification.add(classification(engine, spec.classification(), run, digits, initial, torch));
        }
        long classificationNanos = System.nanoTime() - start;

        // diagnostics of the plain cross-entropy model before and after training
        ClassificationRun ce = classification.getFirst();
        LinearModel untrainedModel = new LinearModel(initial, digits.validation().features(), digits.classes());
        float[] untrainedLogits = new float[digits.validation().rows() * digits.classes()];
        untrainedModel.logits(digits.validation(), untrainedLogits);
        Diagnostics untrained = diagnostics(engine, untrainedLogits, digits.validation(), digits.classes());
        Diagnostics trained = diagnostics(engine, ce.result().validationLogits(), digits.validation(), digits.classes());
        Map<String, Double> deviation = new LinkedHashMap<>();
        diagnosticsDeviation("untrained", untrained, torch.diagnostics().get("untrained"), deviation);
        diagnosticsDeviation("trained", trained, torch.diagnostics().get("trained"), deviation);
        return new Results(engine.backendName(), spec, diabetes, digits, regression, classification, untrained, trained,
                deviation, torch, mismatches, regressionNanos, classificationNanos, load);
    }

    static RegressionRun regression(LossEngine engine, TourSpec.Part part, TourSpec.Run run,
                                            TourData.Regression data, TorchCurves torch) {
        TourLoss loss = new TourLoss(engine, run, null);
        TourData.Dataset validation = data.validation();
        // validation MAE in the target's own units (disease progression), on clean targets
        Trainer.Result result = Trainer.train(loss, data.train(), validation,
                new LinearModel(new float[data.train().features()], data.train().features(), 1), part.learningRate(),
                part.steps(), z -> {
                    double sum = 0;
                    for (int i = 0; i < validation.rows(); i++) sum += Math.abs(z[i] - validation.targets()[i]);
                    return sum / validation.rows() * data.targetSd();
                });
        CurveMatch.Match match = CurveMatch.compare(loss, result.train(), result.validation(), torchRun(torch, run),
                data.train(), validation, 1, part.learningRate());
        return new RegressionRun(loss, result, match);
    }

    static ClassificationRun classification(LossEngine engine, TourSpec.Part part, TourSpec.Run run,
                                                    TourData.Classification data, float[] initial, TorchCurves torch) {
        TourData.Dataset train = data.training(run);
        TourData.Dataset validation = data.validation();
        int classes = data.classes();
        TourLoss loss = new TourLoss(engine, run, TourData.balancedClassWeights(train.labels(), classes));
        Trainer.Result result = Trainer.train(loss, train, validation, new LinearModel(initial, train.features(), classes),
                part.learningRate(), part.steps(), z -> accuracy(z, validation.labels(), classes));
        CurveMatch.Match match = CurveMatch.compare(loss, result.train(), result.validation(), torchRun(torch, run),
                train, validation, classes, part.learningRate());
        Diagnostics d = diagnostics(engine, result.validationLogits(), validation, classes);
        return new ClassificationRun(loss, result, match, Calibration.of(d, validation.labels()),
                recallPerClass(result.validationLogits(), validation.labels(), classes));
    }

    private static TorchCurves.Run torchRun(TorchCurves torch, TourSpec.Run run) {
        TorchCurves.Run r = torch.runs().get(run.name());
        if (r == null) {
            throw new IllegalStateException("torch_curves.json.gz has no run " + run.name()
                    + ": rerun /usr/bin/python3 bench/src/test/python/tour_torch.py");
        }
        return r;
    }

    /** Log-sum-exp, target probability and entropy per row, from one cross-entropy call; and the perplexity. */
    static Diagnostics diagnostics(LossEngine engine, float[] logits, TourData.Dataset data, int classes) {
        int rows = data.rows();
        float[] lse = new float[rows], max = new float[rows], target = new float[rows], entropy = new float[rows];
        int[] argmax = new int[rows];
        Matrix z = Matrix.of(logits, rows, classes);
        Matrix labels = Matrix.vector(data.labels());
        double meanLoss = engine.crossEntropy(z, labels, CrossEntropyOptions.defaults(), LossOutputs.none()
                .logSumExp(Matrix.vector(lse)).maxLogit(Matrix.vector(max)).argmax(Matrix.vector(argmax))
                .targetProbability(Matrix.vector(target)).entropy(Matrix.vector(entropy)));
        return new Diagnostics(lse, max, argmax, target, entropy, Math.exp(meanLoss));   // perplexity = exp(mean CE)
    }

    private static void diagnosticsDeviation(String model, Diagnostics ours, Map<String, double[]> theirs,
                                             Map<String, Double> into) {
        into.put(model + ".logSumExp", largestDifference(ours.logSumExp(), theirs.get("logSumExp")));
        into.put(model + ".targetProbability", largestDifference(ours.targetProbability(), theirs.get("targetProbability")));
        into.put(model + ".entropy", largestDifference(ours.entropy(), theirs.get("entropy")));
    }

    private static double largestDifference(float[] ours, double[] theirs) {
        double largest = 0;
        for (int i = 0; i < ours.length; i++) largest = Math.max(largest, Math.abs(ours[i] - theirs[i]));
        return largest;
    }

    static double accuracy(float[] logits, int[] labels, int classes) {
        int correct = 0;
        for (int i = 0; i < labels.length; i++) if (argmax(logits, i, classes) == labels[i]) correct++;
        return (double) correct / labels.length;
    }

    static int argmax(float[] logits, int row, int classes) {
        int best = 0;
        for (int c = 1; c < classes; c++) if (logits[row * classes + c] > logits[row * classes + best]) best = c;
        return best;
    }

    private static double[] recallPerClass(float[] logits, int[] labels, int classes) {
        double[] hits = new double[classes], counts = new double[classes];
        for (int i = 0; i < labels.length; i++) {
            counts[labels[i]]++;
            if (argmax(logits, i, classes) == labels[i]) hits[labels[i]]++;
        }
        for (int c = 0; c < classes; c++) hits[c] /= counts[c];
        return hits;
    }

    static List<String> hashMismatches(TourSpec spec, TourData.Regression diabetes,
                                               TourData.Classification digits, TorchCurves torch) {
        Map<String, String> ours = new LinkedHashMap<>();
        ours.put("diabetesTrain", TourData.hash(diabetes.train().x(), diabetes.train().targets()));
        ours.put("diabetesValidation", TourData.hash(diabetes.validation().x(), diabetes.validation().targets()));
        ours.put("digitsBalanced", TourData.hash(digits.balanced().x(), digits.balanced().labels()));
        ours.put("digitsImbalanced", TourData.hash(digits.imbalanced().x(), digits.imbalanced().labels()));
        ours.put("digitsValidation", TourData.hash(digits.validation().x(), digits.validation().labels()));
        ours.put("initialWeights", TourData.hash(TourData.initialWeights(spec.classification(), 64, digits.classes())));
        ours.put("classWeights", TourData.hash(TourData.balancedClassWeights(digits.imbalanced().labels(), digits.classes())));
        List<String> mismatches = new ArrayList<>();
        ours.forEach((name, hash) -> {
            if (!hash.equals(torch.dataHashes().get(name))) mismatches.add(name);
        });
        return mismatches;
    }

    // ------------------------------------------------------------------------------------------------ command

    @Command(name = "bench/run tour", sortOptions = false, usageHelpWidth = 118, mixinStandardHelpOptions = false,
            description = "The loss tour: linear models on small real datasets (diabetes, digits) trained with "
                    + "losskit's losses and gradients, every loss curve matched step by step against PyTorch's. "
                    + "Writes TOUR.md and PNG charts.")
    static final class Arguments {
        @Option(names = "--out", paramLabel = "DIR", description = "output folder (default: ${DEFAULT-VALUE})")
        Path out = Path.of("tour");

        @Option(names = "--backend", paramLabel = "NAME",
                description = "backend: auto, cpu, cuda or reference (default: ${DEFAULT-VALUE})")
        String backend = "auto";

        @Option(names = {"-h", "--help"}, usageHelp = true, description = "print this help and stop")
        boolean help;
    }

    /** Runs the command; returns the exit status: 0 when every curve matched PyTorch's, 1 when one did not, 2 for bad options. */
    public static int run(String[] args, PrintStream out) {
        Arguments a = new Arguments();
        CommandLine line = new CommandLine(a);
        try {
            line.parseArgs(args);
        } catch (CommandLine.ParameterException e) {
            System.err.println("bench/run tour: " + e.getMessage());
            line.usage(System.err);
            return 2;
        }
        if (a.help) {
            out.println(line.getUsageMessage().stripTrailing());
            return 0;
        }
        System.setProperty("java.awt.headless", "true");
        long start = System.nanoTime();
        Results results;
        try (LossEngine engine = LossEngine.builder().backend(a.backend).build()) {
            results = run(engine);
        }
        long nanos = System.nanoTime() - start;
        TourPage.printSummary(results, out);
        try {
            Files.createDirectories(a.out);
            List<String> charts = TourCharts.write(a.out, results);
            Files.writeString(a.out.resolve("TOUR.md"), TourPage.markdown(results, charts, nanos));
            out.printf(Locale.ROOT, "wrote %s (TOUR.md and %d charts) in %.1f s%n", a.out, charts.size(), nanos / 1e9);
        } catch (IOException e) {
            System.err.println("bench/run tour: could not write " + a.out + ": " + e);
            return 1;
        }
        return results.allMatch() ? 0 : 1;
    }
}
