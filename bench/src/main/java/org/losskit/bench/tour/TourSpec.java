package org.losskit.bench.tour;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The tour's runs as {@code tour/runs.json} states them: one file read by the Java tour and by the PyTorch script, so
 * that both train the same models with the same settings.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
record TourSpec(Part regression, Part classification) {

    /**
     * One part of the tour: its dataset and how it is split and prepared, the optimiser's settings and its runs.
     *
     * @param seed               seed of the split (SplitMix64); the initial weights use {@code seed + 1}
     * @param corruptedRows      regression: how many training targets are corrupted
     * @param corruptionFactor   regression: what those targets are multiplied by (a slipped decimal point)
     * @param initScale          classification: initial weights are uniform in [-initScale, initScale)
     * @param minorityClasses    classification: the classes the imbalanced training set keeps only a tenth of
     * @param minorityKeepEvery  ... keeping every k-th row of each
     */
    @JsonIgnoreProperties(ignoreUnknown = true)
    record Part(String dataset, long seed, int trainRows, int corruptedRows, double corruptionFactor, double learningRate,
                int steps, double initScale, int[] minorityClasses, int minorityKeepEvery, List<Run> runs) {}

    /**
     * One training run: its loss and the loss's parameters (null when the loss has none).
     *
     * @param data         classification: "balanced" or "imbalanced" training set
     * @param classWeights classification: "balanced" for sklearn's n / (C n_c), or null
     */
    @JsonIgnoreProperties(ignoreUnknown = true)
    record Run(String name, String loss, String data, Double delta, Double beta, Double tau, Double labelSmoothing,
               String classWeights, Double gamma) {

        /** True for losses whose slope jumps (L1 and quantile): piecewise linear, no second derivative. */
        boolean piecewiseLinear() {
            return loss.equals("l1") || loss.equals("quantile");
        }

        /** The largest |slope| of a piecewise-linear loss: 1 for L1, max(tau, 1 - tau) for the quantile loss. */
        double maxSlope() {
            return loss.equals("quantile") ? Math.max(tau, 1 - tau) : 1;
        }

        /** How much the slope jumps at the kink: 2 for L1 (-1 to 1), 1 for the quantile loss (-tau to 1 - tau). */
        double slopeJump() {
            return loss.equals("quantile") ? 1 : 2;
        }
    }

    static TourSpec load() {
        try (InputStream in = TourData.resource("runs.json")) {
            return new ObjectMapper().readValue(in, TourSpec.class);
        } catch (IOException e) {
            throw new UncheckedIOException("tour/runs.json", e);
        }
    }
}
