package org.losskit.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.losskit.testing.PyTorchSamples.Sample;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The PyTorch test-suite samples load, agree with the counts and feature tables of their README, are well formed, and
 * decode to the values PyTorch computed (checked by recomputing simple losses from the decoded arrays).
 */
class PyTorchSamplesTest {
    private static final List<String> SOURCES = List.of("opinfo", "opinfo_reference", "criterion", "module");
    private static final Map<String, List<Sample>> ALL = new LinkedHashMap<>();

    @BeforeAll
    static void loadEveryFile() {
        for (String functional : PyTorchSamples.FUNCTIONALS) ALL.put(functional, PyTorchSamples.load(functional));
    }

    @Test
    void countsPerFunctionalAndSourceMatchTheReadme() {
        Map<String, int[]> table = readmeCountTable();
        assertEquals(Set.copyOf(PyTorchSamples.FUNCTIONALS), table.keySet(), "README rows against the files");
        int total = 0;
        for (var entry : ALL.entrySet()) {
            int[] expected = table.get(entry.getKey());
            int[] actual = new int[SOURCES.size() + 1];
            for (Sample s : entry.getValue()) {
                int source = SOURCES.indexOf(s.source());
                assertTrue(source >= 0, s + ": unknown source " + s.source());
                actual[source]++;
            }
            actual[SOURCES.size()] = entry.getValue().size();
            assertArrayEquals(expected, actual, entry.getKey() + ": README counts (" + SOURCES + ", total)");
            total += entry.getValue().size();
        }
        assertEquals(readmeTotal(), total, "README total");
    }

    @Test
    void featureCountsMatchTheReadmeTables() {
        Map<String, Map<String, Integer>> tables = readmeFeatureTables();
        assertEquals(Set.copyOf(PyTorchSamples.FUNCTIONALS), tables.keySet(), "README feature tables against the files");
        for (var entry : ALL.entrySet()) {
            Map<String, Integer> counted = new TreeMap<>();
            for (Sample s : entry.getValue()) for (String f : s.features()) counted.merge(f, 1, Integer::sum);
            assertEquals(tables.get(entry.getKey()), counted, entry.getKey() + ": feature counts");
        }
    }

    @Test
    void everySampleIsWellFormed() {
        Set<String> names = new HashSet<>();
        for (var entry : ALL.entrySet()) {
            for (Sample s : entry.getValue()) {
                assertTrue(names.add(s.name()), "duplicate sample name " + s.name());
                assertEquals(entry.getKey(), s.functional(), s + ": functional");
                assertTrue(s.name().startsWith(s.functional() + "/" + s.source() + "/"), s + ": name");
                assertEquals(s.args(), List.copyOf(s.tensors().keySet()), s + ": args lists the tensors in order");
                assertTrue(List.of("current", "issue13", "none").contains(s.catalogueStatus()), s + ": status");
                assertEquals(s.catalogueStatus().equals("none"), s.catalogueOp() == null, s + ": catalogue op");

                String reduction = s.reduction();
                long reductions = s.features().stream().filter(f -> f.startsWith("reduction_") && !f.equals("reduction_differs_from_test_name")).count();
                assertEquals(1, reductions, s + ": one reduction feature");
                assertTrue(s.has("reduction_" + reduction), s + ": reduction feature matches kwargs");
                assertEquals("f64", s.output().dtype(), s + ": output dtype");
                if (!reduction.equals("none")) assertEquals(0, s.output().shape().length, s + ": reduced output is 0-dim");

                for (var t : s.tensors().entrySet()) {
                    EncodedArray a = t.getValue();
                    assertEquals(a.shape().length == 0, s.has("0-dim:" + t.getKey()), s + ": 0-dim feature of " + t.getKey());
                    assertEquals(a.numel() == 0, s.has("0-element:" + t.getKey()), s + ": 0-element feature of " + t.getKey());
                    assertTrue(a.isFloatingPoint() ? a.dtype().equals("f32") : Set.of("i32", "i64", "bool").contains(a.dtype()),
                            s + ": inputs are f32 or integer, " + t.getKey() + " is " + a.dtype());
                }
                for (String d : s.differentiable()) {
                    EncodedArray grad = s.grads().get(d);
                    if (grad == null) {
                        assertTrue(s.has("grad_unused:" + d), s + ": no gradient for " + d);
                        continue;
                    }
                    assertEquals("f64", grad.dtype(), s + ": gradient dtype");
                    assertArrayEquals(s.tensor(d).shape(), grad.shape(), s + ": gradient shape of " + d);
                }
                assertEquals(s.differentiable().stream().filter(d -> !s.has("grad_unused:" + d)).toList(),
                        List.copyOf(s.grads().keySet()), s + ": one gradient per differentiable tensor");
                if (reduction.equals("none")) {
                    assertNotNull(s.gradOutput(), s + ": upstream gradient for reduction none");
                    assertArrayEquals(s.output().shape(), s.gradOutput().shape(), s + ": upstream gradient shape");
                    assertEquals(s.grads().keySet(), s.gradsGivenOutput().keySet(), s + ": gradients given the upstream gradient");
                } else {
                    assertNull(s.gradOutput(), s + ": upstream gradient only for reduction none");
                    assertNull(s.gradsGivenOutput(), s + ": gradients given output only for reduction none");
                }
            }
        }
    }

    /** mse_loss and l1_loss without broadcasting, recomputed in double from the decoded f32 arrays. */
    @Test
    void decodedArraysReproduceTheRegressionLosses() {
        int checked = 0;
        for (String functional : List.of("mse_loss", "l1_loss")) {
            for (Sample s : ALL.get(functional)) {
                if (s.features().stream().anyMatch(f -> f.startsWith("broadcast:"))) continue;
                double[] x = s.tensor("input").doubles(), t = s.tensor("target").doubles();
                int n = x.length;
                double scale = s.reduction().equals("mean") ? 1.0 / n : 1.0;
                double[] perElement = new double[n], grad = new double[n];
                double total = 0, compensation = 0;  // Neumaier: the 1.4M-element sample must not drift
                for (int i = 0; i < n; i++) {
                    double d = x[i] - t[i];
                    perElement[i] = functional.equals("mse_loss") ? d * d : Math.abs(d);
                    grad[i] = (functional.equals("mse_loss") ? 2 * d : Math.signum(d)) * scale;
                    double sum = total + perElement[i];
                    compensation += Math.abs(total) >= Math.abs(perElement[i])
                            ? (total - sum) + perElement[i] : (perElement[i] - sum) + total;
                    total = sum;
                }
                total += compensation;
                double[] expected = s.reduction().equals("none") ? perElement : new double[] {total * scale};
                assertClose(expected, s.output().doubles(), s + ": output");
                assertClose(grad, s.grads().get("input").doubles(), s + ": gradient");
                if (s.grads().containsKey("target")) {
                    double[] minus = Arrays.stream(grad).map(g -> -g).toArray();
                    assertClose(minus, s.grads().get("target").doubles(), s + ": gradient of the target");
                }
                checked++;
            }
        }
        assertTrue(checked >= 25, "recomputed " + checked + " regression samples");
    }

    /**
     * N-D NLL with reduction none and no weight: loss[n, d...] = -input[n, target[n, d...], d...], 0 where ignored.
     * Checks the int64 targets and the class-dimension-second layout.
     */
    @Test
    void decodedArraysReproduceNllWithTheClassDimensionSecond() {
        int checked = 0;
        for (Sample s : ALL.get("nll_loss")) {
            if (!s.reduction().equals("none") || s.hasTensor("weight") || !s.has("class_dim_not_last")) continue;
            int[] shape = s.tensor("input").shape();
            int batch = shape[0], classes = shape[1], spatial = s.tensor("input").numel() / (batch * classes);
            double[] x = s.tensor("input").doubles();
            long[] target = s.tensor("target").longs();
            long ignore = s.integer("ignore_index");
            double[] expected = new double[batch * spatial];
            for (int n = 0; n < batch; n++) {
                for (int d = 0; d < spatial; d++) {
                    long c = target[n * spatial + d];
                    expected[n * spatial + d] = c == ignore ? 0 : -x[(n * classes + (int) c) * spatial + d];
                }
            }
            assertClose(expected, s.output().doubles(), s + ": output");
            checked++;
        }
        assertTrue(checked >= 3, "recomputed " + checked + " N-D NLL samples");
    }

    @Test
    void anUnknownFunctionalIsRefusedByName() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PyTorchSamples.load("focal_loss"));
        assertTrue(e.getMessage().contains("focal_loss"), e.getMessage());
    }

    @Test
    void anArrayWhoseBytesDoNotFitItsShapeIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> new EncodedArray("f32", new int[] {2, 3}, new byte[20]));
        assertThrows(IllegalArgumentException.class, () -> new EncodedArray("f16", new int[] {1}, new byte[2]));
        assertEquals(1, new EncodedArray("i64", new int[0], new byte[8]).numel());
    }

    private static void assertClose(double[] expected, double[] actual, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            double tolerance = 1e-12 * Math.max(1, Math.abs(expected[i]));
            if (!(Math.abs(expected[i] - actual[i]) <= tolerance)) {
                fail(what + "[" + i + "]: expected " + expected[i] + ", file holds " + actual[i]);
            }
        }
    }

    // ---------------------------------------------------------------------------------------------- README tables

    private static String readme() {
        try (InputStream in = PyTorchSamplesTest.class.getResourceAsStream("/pytorch-samples/README.md")) {
            assertNotNull(in, "pytorch-samples/README.md on the test class path");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static final Pattern COUNT_ROW = Pattern.compile(
            "^\\| (\\w+) \\| [^|]* \\| [^|]* \\| (\\d+) \\| (\\d+) \\| (\\d+) \\| (\\d+) \\| (\\d+) \\| \\d+ \\|$", Pattern.MULTILINE);
    private static final Pattern TOTAL_ROW = Pattern.compile(
            "^\\| \\*\\*total\\*\\* \\|[^|]*\\|[^|]*\\| \\d+ \\| \\d+ \\| \\d+ \\| \\d+ \\| (\\d+) \\| \\d+ \\|$", Pattern.MULTILINE);

    /** functional -> {opinfo, opinfo_reference, criterion, module, total} from "Samples per functional". */
    private static Map<String, int[]> readmeCountTable() {
        Map<String, int[]> rows = new LinkedHashMap<>();
        Matcher m = COUNT_ROW.matcher(readme());
        while (m.find()) {
            int[] counts = new int[SOURCES.size() + 1];
            for (int i = 0; i < counts.length; i++) counts[i] = Integer.parseInt(m.group(i + 2));
            rows.put(m.group(1), counts);
        }
        return rows;
    }

    private static int readmeTotal() {
        Matcher m = TOTAL_ROW.matcher(readme());
        assertTrue(m.find(), "README has a total row");
        return Integer.parseInt(m.group(1));
    }

    /** functional -> feature -> count from the "#### functional (N samples)" tables. */
    private static Map<String, Map<String, Integer>> readmeFeatureTables() {
        Map<String, Map<String, Integer>> tables = new LinkedHashMap<>();
        Map<String, Integer> current = null;
        Pattern heading = Pattern.compile("^#### (\\w+) \\((\\d+) samples\\)$");
        Pattern row = Pattern.compile("^\\| `([^`]+)` \\| (\\d+) \\|$");
        List<String> lines = new ArrayList<>(readme().lines().toList());
        for (String line : lines) {
            Matcher h = heading.matcher(line);
            if (h.matches()) {
                current = new TreeMap<>();
                tables.put(h.group(1), current);
                assertEquals(Integer.parseInt(h.group(2)), ALL.get(h.group(1)).size(), line);
                continue;
            }
            Matcher r = row.matcher(line);
            if (r.matches() && current != null) current.put(r.group(1), Integer.parseInt(r.group(2)));
        }
        return tables;
    }
}
