package org.losskit.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Turns a JMH JSON result file ({@code -rf json}) into the Markdown table of docs/BENCHMARKS.md: calls per second
 * become elements per second (x rows x vocab for a {@code shape} parameter, x {@code n} otherwise), and each
 * figure is set against its peers from the same run (the naive loop, libtorch) at the same shape.
 * Run as {@code bench/run --jmh-summary results.json}.
 */
public final class JmhSummary {
    private JmhSummary() {}

    /** One JMH result with its size. */
    record Result(String benchmark, Map<String, String> params, double score, double error, long elements) {
        /** Benchmark method name without the package: "CrossEntropyBenchmark.fusedForwardGradient". */
        String shortName() {
            String[] parts = benchmark.split("\\.");
            return parts[parts.length - 2] + "." + parts[parts.length - 1];
        }

        /** The parameters other than the implementation: what makes two results comparable. */
        String sizeKey() {
            Map<String, String> size = new LinkedHashMap<>(params);
            size.remove("impl");
            return size.toString();
        }
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: bench/run --jmh-summary RESULTS.json   (a JMH result file written with -rf json)");
            System.exit(2);
        }
        System.out.print(markdown(read(Path.of(args[0]))));
    }

    static List<Result> read(Path file) throws IOException {
        List<Result> results = new ArrayList<>();
        for (JsonNode node : new ObjectMapper().readTree(file.toFile())) {
            Map<String, String> params = new LinkedHashMap<>();
            JsonNode p = node.get("params");
            if (p != null) p.fields().forEachRemaining(e -> params.put(e.getKey(), e.getValue().asText()));
            JsonNode metric = node.get("primaryMetric");
            double error = metric.get("scoreError").isNumber() ? metric.get("scoreError").asDouble() : Double.NaN;
            results.add(new Result(node.get("benchmark").asText(), params, metric.get("score").asDouble(), error, elements(params)));
        }
        return results;
    }

    /** rows x vocab for a "shape" parameter, else "n", else 1. */
    static long elements(Map<String, String> params) {
        if (params.containsKey("shape")) {
            String[] parts = params.get("shape").split("x");
            return Long.parseLong(parts[0]) * Long.parseLong(parts[1]);
        }
        return params.containsKey("n") ? Long.parseLong(params.get("n")) : 1;
    }

    static String markdown(List<Result> results) {
        StringBuilder md = new StringBuilder();
        md.append("| benchmark | impl | parameters | calls/s (± 99.9% error) | elements/s | vs naive | vs libtorch |\n");
        md.append("|---|---|---|---|---|---|---|\n");
        for (Result r : results) {
            Map<String, String> size = new LinkedHashMap<>(r.params());
            String impl = size.remove("impl");
            md.append("| ").append(r.shortName()).append(" | ").append(impl == null ? "" : impl).append(" | ")
                    .append(size.isEmpty() ? "" : size.toString().replaceAll("[{}]", "")).append(" | ")
                    .append(String.format(Locale.ROOT, "%.4g ± %.2g", r.score(), r.error())).append(" | ")
                    .append(Report.rate(r.score() * r.elements())).append(" | ")
                    .append(ratio(r, results, "naive")).append(" | ")
                    .append(ratio(r, results, "libtorch")).append(" |\n");
        }
        return md.toString();
    }

    /** score / the score of {@code peer} on the same benchmark family and size, or "" when there is none. */
    private static String ratio(Result r, List<Result> results, String peer) {
        if (peer.equals(r.params().get("impl"))) return "";
        String family = r.shortName().replace("Torch", "").split("\\.")[0];
        return results.stream()
                .filter(o -> peer.equals(o.params().get("impl")) && o.sizeKey().equals(r.sizeKey())
                        && o.shortName().replace("Torch", "").split("\\.")[0].equals(family)
                        && o.shortName().endsWith(r.shortName().substring(r.shortName().indexOf('.'))))
                .findFirst()
                .map(o -> String.format(Locale.ROOT, "%.1fx", r.score() / o.score()))
                .orElse("");
    }
}
