package org.losskit.testing;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Reads PyTorch's own test inputs for its loss functions (OpInfo samples, criterion tests, ModuleInfo inputs of
 * PyTorch 1.13) from the test class path, folder {@code /pytorch-samples}: one gzip JSON file per functional,
 * {@code {"generator", "torch", "functional", "count", "samples": [ {...}, ... ]}}. The format, every field and the
 * counts are in that folder's README.md; the generator is {@code api/src/test/python/pytorch_samples.py}. Arrays are
 * {@link EncodedArray}s (f32 inputs; i64 or i32 class targets and lengths; f64 outputs and gradients).
 */
public final class PyTorchSamples {
    /** Every file: the 21 loss functionals of {@code torch.nn.functional}, in the generator's order. */
    public static final List<String> FUNCTIONALS = List.of(
            "cross_entropy", "nll_loss", "binary_cross_entropy_with_logits", "mse_loss", "l1_loss", "smooth_l1_loss",
            "huber_loss", "poisson_nll_loss", "gaussian_nll_loss", "kl_div", "multi_margin_loss", "ctc_loss",
            "triplet_margin_loss", "triplet_margin_with_distance_loss", "cosine_embedding_loss", "margin_ranking_loss",
            "hinge_embedding_loss", "soft_margin_loss", "multilabel_soft_margin_loss", "binary_cross_entropy",
            "multilabel_margin_loss");

    private PyTorchSamples() {}

    /** The samples of {@code /pytorch-samples/<functional>.json.gz}, in file order. */
    public static List<Sample> load(String functional) {
        if (!FUNCTIONALS.contains(functional)) {
            throw new IllegalArgumentException("functional: no sample file named '" + functional + "'; the files are " + FUNCTIONALS);
        }
        JsonNode root = EncodedArray.readGzipJsonResource("/pytorch-samples/" + functional + ".json.gz");
        List<Sample> samples = new ArrayList<>();
        for (JsonNode node : root.path("samples")) samples.add(Sample.of(node));
        if (samples.size() != root.path("count").asInt(-1)) {
            throw new IllegalStateException(functional + ".json.gz: " + samples.size() + " samples, its count field says "
                    + root.path("count"));
        }
        return List.copyOf(samples);
    }

    /**
     * One call of a loss functional as a PyTorch test made it.
     *
     * @param name             unique across all files: {@code functional/source/...}
     * @param source           {@code opinfo}, {@code opinfo_reference}, {@code criterion} or {@code module}
     * @param sourceName       the OpInfo name, the criterion test's name ({@code test_NLLLoss_weights}) or the module
     * @param catalogueOp      the golden-file name of the losskit op the sample maps to, null when there is none
     * @param catalogueStatus  {@code current}, {@code issue13} or {@code none}
     * @param args             the tensor arguments' names in the functional's signature order
     * @param tensors          every tensor argument by name (weights and {@code pos_weight} included when given)
     * @param kwargs           every non-tensor option, PyTorch's defaults filled in ({@code reduction} always there)
     * @param differentiable   the tensors the gradients are taken with respect to
     * @param output           the float64 result: shape {@code []} unless reduction is {@code none}
     * @param grads            gradient of the sum of the output (upstream all ones) per differentiable tensor;
     *                         a tensor the loss does not depend on has none (feature {@code grad_unused:<name>})
     * @param gradOutput       for reduction {@code none}: a seeded upstream gradient of the output's shape; else null
     * @param gradsGivenOutput for reduction {@code none}: the gradients given {@code gradOutput}; else null
     * @param features         the sample's classification (README.md lists the vocabulary)
     * @param note             a remark, such as a test whose name says another reduction than it runs; or null
     */
    public record Sample(String name, String functional, String source, String sourceName, int sourceIndex,
                         String catalogueOp, String catalogueStatus, List<String> args, Map<String, EncodedArray> tensors,
                         Map<String, JsonNode> kwargs, List<String> differentiable, EncodedArray output,
                         Map<String, EncodedArray> grads, EncodedArray gradOutput,
                         Map<String, EncodedArray> gradsGivenOutput, Set<String> features, String note) {

        static Sample of(JsonNode node) {
            return new Sample(node.path("name").asText(), node.path("functional").asText(), node.path("source").asText(),
                    node.path("source_name").asText(), node.path("source_index").asInt(), textOrNull(node, "catalogue_op"),
                    node.path("catalogue_status").asText(), strings(node.path("args")), arrays(node.path("tensors")),
                    fields(node.path("kwargs")), strings(node.path("differentiable")), EncodedArray.of(node.path("output")),
                    arrays(node.path("grads")), node.hasNonNull("grad_output") ? EncodedArray.of(node.get("grad_output")) : null,
                    node.hasNonNull("grads_given_output") ? arrays(node.get("grads_given_output")) : null,
                    Collections.unmodifiableSet(new LinkedHashSet<>(strings(node.path("features")))),
                    textOrNull(node, "note"));
        }

        /** The tensor argument {@code name}; throws when the sample has none of that name. */
        public EncodedArray tensor(String name) {
            EncodedArray t = tensors.get(name);
            if (t == null) throw new IllegalStateException(this + " has no tensor " + name + "; it has " + tensors.keySet());
            return t;
        }

        public boolean hasTensor(String name) {
            return tensors.containsKey(name);
        }

        public boolean has(String feature) {
            return features.contains(feature);
        }

        public String reduction() {
            return text("reduction");
        }

        public String text(String key) {
            return kwarg(key).asText();
        }

        /** A numeric option (margin, eps, beta, delta, label_smoothing, p, ...). */
        public double number(String key) {
            return kwarg(key).asDouble();
        }

        public long integer(String key) {
            JsonNode value = kwarg(key);
            if (!value.isIntegralNumber()) throw new IllegalStateException(this + ": option " + key + " = " + value + " is not an integer");
            return value.asLong();
        }

        public boolean bool(String key) {
            JsonNode value = kwarg(key);
            if (!value.isBoolean()) throw new IllegalStateException(this + ": option " + key + " = " + value + " is not a boolean");
            return value.asBoolean();
        }

        private JsonNode kwarg(String key) {
            JsonNode value = kwargs.get(key);
            if (value == null || value.isNull()) throw new IllegalStateException(this + " has no option " + key + "; it has " + kwargs.keySet());
            return value;
        }

        @Override
        public String toString() {
            return "PyTorch sample " + name;
        }
    }

    private static String textOrNull(JsonNode node, String key) {
        return node.hasNonNull(key) ? node.get(key).asText() : null;
    }

    private static List<String> strings(JsonNode array) {
        List<String> result = new ArrayList<>();
        for (JsonNode item : array) result.add(item.asText());
        return List.copyOf(result);
    }

    private static Map<String, EncodedArray> arrays(JsonNode object) {
        Map<String, EncodedArray> result = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : object.properties()) result.put(e.getKey(), EncodedArray.of(e.getValue()));
        return Collections.unmodifiableMap(result);
    }

    private static Map<String, JsonNode> fields(JsonNode object) {
        Map<String, JsonNode> result = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : object.properties()) result.put(e.getKey(), e.getValue());
        return Collections.unmodifiableMap(result);
    }
}
