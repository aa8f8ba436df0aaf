package org.losskit.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The committed PTX (what the jar ships) must be exactly what nvcc makes of src-cuda today, so a kernel change
 * cannot ship without its PTX. Runs src-cuda/build-ptx.sh (the one place the nvcc command line lives); skipped with
 * a message where nvcc is absent.
 */
class CommittedPtxTest {
    static final Path SOURCES = Path.of("..", "src-cuda");
    static final Path COMMITTED = Path.of("src", "main", "resources", "org", "losskit", "cuda", "losskit.ptx");

    @Test
    void committedPtxEqualsAFreshNvccBuild(@TempDir Path temp) throws IOException, InterruptedException {
        Path fresh = temp.resolve("losskit.ptx");
        Process nvcc = new ProcessBuilder("bash", SOURCES.resolve("build-ptx.sh").toString(), fresh.toString())
                .redirectErrorStream(true).start();
        String log = new String(nvcc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!nvcc.waitFor(300, TimeUnit.SECONDS)) fail("build-ptx.sh did not finish in 300 s");
        if (nvcc.exitValue() == 3) {
            System.out.println("CommittedPtxTest skipped: " + log.strip());
            assumeTrue(false, "nvcc not found: " + log.strip());
        }
        assertEquals(0, nvcc.exitValue(), "build-ptx.sh failed:\n" + log);
        String expected = Files.readString(fresh, StandardCharsets.US_ASCII);
        String committed = Files.readString(COMMITTED, StandardCharsets.US_ASCII);
        if (!expected.equals(committed)) {
            fail("kernels-cuda/" + COMMITTED + " differs from a fresh nvcc build of src-cuda/cuda (" + expected.length()
                    + " vs " + committed.length() + " chars); update it with:\n    src-cuda/build-ptx.sh kernels-cuda/" + COMMITTED);
        }
    }

    @Test
    void freshBuildsAreDeterministic(@TempDir Path temp) throws IOException, InterruptedException {
        // Two builds in different directories give the same bytes: no paths or times in the PTX.
        Path a = temp.resolve("a/losskit.ptx");
        Path b = temp.resolve("other/dir/losskit.ptx");
        for (Path out : new Path[] {a, b}) {
            Process nvcc = new ProcessBuilder("bash", SOURCES.resolve("build-ptx.sh").toString(), out.toString())
                    .redirectErrorStream(true).start();
            String log = new String(nvcc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            nvcc.waitFor(300, TimeUnit.SECONDS);
            assumeTrue(nvcc.exitValue() != 3, "nvcc not found: " + log.strip());
            assertEquals(0, nvcc.exitValue(), log);
        }
        assertEquals(-1L, Files.mismatch(a, b), "two nvcc builds differ");
        String text = Files.readString(a, StandardCharsets.US_ASCII);
        assertEquals(-1, text.indexOf(temp.toString()), "the PTX names the build directory");
    }
}
