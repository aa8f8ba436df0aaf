package org.losskit.bench.tour;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.GZIPInputStream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * What the PyTorch script committed ({@code tour/torch_curves.json.gz}, from {@code tour_torch.py}): for every run
 * PyTorch's float32 loss curves, the float64 curves of the same training (the exact trajectory, up to 1e-15), and the
 * terms of the error bound measured along the float64 trajectory; the hashes of the data it trained on; the
 * diagnostics of the untrained and trained "ce" model.
 */
record TorchCurves(String torchVersion, Map<String, String> dataHashes, Map<String, Run> runs,
                   Map<String, Map<String, double[]>> diagnostics) {

    /**
     * One run. Terms per step k (before the update of step k, on the float64 weights theta_k; G = dL/dZ):
     * gradNorm |dL/dtheta|, validationGradNorm, absGrad ||X~|^T |G||, maxG max|G|, curvature ||X~|^T Q| with
     * Q_ic = sum_d |dG_ic/dz_id| |z_id|, gz sum |G| |Z|, validationGz, thetaNorm |theta_{k+1}|, maxZ max|Z|;
     * kinks (L1 and quantile only): the 8 residuals nearest the kink at step k as (|residual|, |x~_i|) pairs;
     * curvatureBound kappa: a bound on the Hessian of the training loss along the trajectory, and the validation's.
     * Bound terms are rounded up to 4 digits (kink distances down). reorderedSpread: the largest relative difference
     * between PyTorch's float32 training curve and the same training with the rows in another order (4 orders):
     * PyTorch against itself, context for the page, not part of any tolerance.
     */
    record Run(double[] train, double[] validation, double[] exactTrain, double[] exactValidation,
               Map<String, double[]> terms, double[][] kinks, double curvatureBound, double validationCurvatureBound,
               double reorderedSpread) {
        double[] term(String name) {
            double[] t = terms.get(name);
            if (t == null) throw new IllegalStateException("torch_curves.json.gz: no term " + name);
            return t;
        }
    }

    static TorchCurves load() {
        try (InputStream in = new GZIPInputStream(TourData.resource("torch_curves.json.gz"))) {
            JsonNode root = new ObjectMapper().readTree(in);
            Map<String, String> hashes = new LinkedHashMap<>();
            root.get("dataHashes").properties().forEach(e -> hashes.put(e.getKey(), e.getValue().asText()));
            Map<String, Run> runs = new LinkedHashMap<>();
            root.get("runs").properties().forEach(e -> runs.put(e.getKey(), run(e.getValue())));
            Map<String, Map<String, double[]>> diagnostics = new LinkedHashMap<>();
            root.get("diagnostics").properties().forEach(model -> {
                Map<String, double[]> values = new LinkedHashMap<>();
                model.getValue().properties().forEach(v -> values.put(v.getKey(), doubles(v.getValue())));
                diagnostics.put(model.getKey(), values);
            });
            return new TorchCurves(root.get("torch").asText(), hashes, runs, diagnostics);
        } catch (IOException e) {
            throw new UncheckedIOException("tour/torch_curves.json.gz", e);
        }
    }

    private static Run run(JsonNode node) {
        JsonNode terms = node.get("terms");
        Map<String, double[]> perStep = new LinkedHashMap<>();
        terms.properties().forEach(e -> {
            if (e.getValue().isArray() && !e.getKey().equals("kinks")) perStep.put(e.getKey(), doubles(e.getValue()));
        });
        double[][] kinks = null;
        if (terms.has("kinks")) {
            JsonNode k = terms.get("kinks");
            kinks = new double[k.size()][];
            for (int i = 0; i < k.size(); i++) kinks[i] = doubles(k.get(i));
        }
        return new Run(doubles(node.get("train")), doubles(node.get("validation")), doubles(node.get("exactTrain")),
                doubles(node.get("exactValidation")), perStep, kinks, terms.get("curvatureBound").asDouble(),
                terms.get("validationCurvatureBound").asDouble(), node.get("reorderedSpread").asDouble());
    }

    private static double[] doubles(JsonNode array) {
        double[] out = new double[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = array.get(i).asDouble();
        return out;
    }
}
