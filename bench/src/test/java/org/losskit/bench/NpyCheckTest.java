package org.losskit.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.jetbrains.bio.npy.NpyArray;
import org.jetbrains.bio.npy.NpyFile;
import org.jetbrains.bio.npy.NpzFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import org.losskit.LossEngine;
import org.losskit.Op;

/**
 * {@code bench/run check} on the committed PyTorch file (bench/src/test/python/make_check_example.py): every
 * available backend agrees with PyTorch within the bound, the outputs round-trip through .npy, and a wrong expected
 * value is reported as a disagreement.
 */
class NpyCheckTest {
    static final Path TORCH_FILE = Path.of("src/test/resources/check/cross_entropy_torch.npz");

    @TempDir
    Path out;

    private String console;

    private int check(String... args) {
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        int status;
        try (PrintStream print = new PrintStream(captured, true, StandardCharsets.UTF_8)) {
            status = NpyCheck.run(args, print);
        }
        console = captured.toString(StandardCharsets.UTF_8);
        return status;
    }

    @Test
    void thePyTorchFileAgreesOnEveryBackendAndTheOutputsRoundTrip() {
        assertEquals(0, check(TORCH_FILE.toString(), "--out", out.toString()), console);
        List<String> available = LossEngine.availableBackends().stream().filter(LossEngine.BackendStatus::available)
                .map(LossEngine.BackendStatus::name).toList();
        Map<String, NpyArray> torch = NpyArrays.readNpz(TORCH_FILE);
        float[] torchGrad = torch.get("grad").asFloatArray();
        double torchLoss = torch.get("loss").asFloatArray()[0];
        for (String backend : available) {
            assertTrue(console.contains("  " + backend + " "), console);
            NpyArray grad = NpyFile.read(out.resolve(backend + ".grad.npy"), Integer.MAX_VALUE);
            assertArrayEquals(new int[] {5, 11}, grad.getShape());
            double[] loss = NpyFile.read(out.resolve(backend + ".loss.npy"), Integer.MAX_VALUE).asDoubleArray();
            assertEquals(1, loss.length);
            // what was written is what PyTorch computed, within the documented bound
            assertTrue(Op.CROSS_ENTROPY.float32Bound().lossWithin(loss[0], torchLoss), backend + " loss " + loss[0] + " vs " + torchLoss);
            float[] g = grad.asFloatArray();
            assertTrue(CrossCheck.gradientFraction(Op.CROSS_ENTROPY.float32Bound(), g, torchGrad) <= 1, backend + " gradient");
        }
    }

    @Test
    void aWrongExpectedLossIsADisagreement() throws Exception {
        Map<String, NpyArray> torch = NpyArrays.readNpz(TORCH_FILE);
        Path wrong = out.resolve("wrong.npz");
        try (NpzFile.Writer writer = NpzFile.write(wrong, true)) {
            writer.write("input", torch.get("input").asFloatArray(), torch.get("input").getShape());
            writer.write("target", torch.get("target").asLongArray(), torch.get("target").getShape());
            writer.write("weight", torch.get("weight").asFloatArray(), torch.get("weight").getShape());
            writer.write("loss", new float[] {torch.get("loss").asFloatArray()[0] * 1.001f}, new int[] {1});
        }
        // the options from the command line this time; only the expected loss is off, by 0.1%
        assertEquals(1, check(wrong.toString(), "--op", "cross_entropy", "--label-smoothing", "0.1", "--backend", "reference",
                "--out", out.resolve("o").toString()), console);
        assertTrue(console.contains("DISAGREEMENT"), console);
        assertEquals(0, check(TORCH_FILE.toString(), "--backend", "reference", "--out", out.resolve("p").toString()), console);
    }

    @Test
    void separateNpyFilesAndCommandLineOptionsWork() {
        Path input = out.resolve("x.npy");
        Path target = out.resolve("t.npy");
        NpyFile.write(input, new float[] {0.5f, -1f, 2f, 3f}, new int[] {4});
        NpyFile.write(target, new float[] {1f, -1f, 2.5f, 0f}, new int[] {4});
        assertEquals(0, check("--input", input.toString(), "--target", target.toString(), "--op", "huber_loss", "--delta", "0.5",
                "--reduction", "sum", "--out", out.resolve("o").toString()), console);
        assertTrue(Files.exists(out.resolve("o").resolve("reference.grad.npy")));
    }

    @Test
    void badInputNamesWhatIsWrong() {
        assertEquals(2, check("--op", "cross_entropy", "--out", out.toString()));
        assertEquals(2, check(TORCH_FILE.toString(), "--op", "softmax", "--out", out.toString()));
    }
}
