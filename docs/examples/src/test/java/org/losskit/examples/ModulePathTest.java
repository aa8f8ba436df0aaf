package org.losskit.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

/**
 * losskit on the module path, as README "JVM flags" describes it: the three losskit modules on the module path,
 * JCuda on the class path (or on the module path as the automatic module {@code jcuda}), and the application on
 * the class path. Each way, a fresh JVM lists the backends; CUDA must get as far as the driver: on a machine
 * without one its reason names libcuda, never an access error (kernels-cuda's module-info does not require JCuda;
 * JCudaLink adds the read edge at run time). On a machine with a GPU it is available.
 */
class ModulePathTest {
    private static final List<String> CLASS_PATH = Arrays.asList(System.getProperty("java.class.path").split(File.pathSeparator));

    /** The test class path entry whose path contains {@code part} (a losskit module's classes or jar, a JCuda jar). */
    private static String entry(String part) {
        return CLASS_PATH.stream().filter(e -> e.replace('\\', '/').contains(part)).findFirst()
                .orElseThrow(() -> new AssertionError("no class path entry with " + part + " in " + CLASS_PATH));
    }

    private static String losskitModules() {
        return String.join(File.pathSeparator, entry("/api/target/"), entry("/kernels-cpu/target/"), entry("/kernels-cuda/target/"));
    }

    private static String jcudaJars() {
        return String.join(File.pathSeparator, entry("/jcuda-" + jcudaVersion() + ".jar"), entry("/jcuda-natives-"));
    }

    private static String jcudaVersion() {
        String jar = CLASS_PATH.stream().map(e -> Path.of(e).getFileName().toString()).filter(n -> n.matches("jcuda-[0-9.]+\\.jar"))
                .findFirst().orElseThrow(() -> new AssertionError("JCuda is not on the test class path"));
        return jar.substring("jcuda-".length(), jar.length() - ".jar".length());
    }

    private static String examples() {
        return entry("/examples/target/classes");
    }

    private static String run(List<String> javaArguments) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(javaArguments);
        command.add(ListBackends.class.getName());
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), "timed out: " + command);
        assertEquals(0, process.exitValue(), command + "\n" + output);
        return output;
    }

    /** Every backend was found, the Vector API one runs, and CUDA reached the driver (or runs). */
    private static void assertBackendsFound(String output) {
        assertTrue(output.contains("reference\tavailable"), output);
        assertTrue(output.contains("cpu\tavailable"), output);
        String cuda = output.lines().filter(l -> l.startsWith("cuda\t")).findFirst().orElseThrow(() -> new AssertionError(output));
        assertTrue(cuda.startsWith("cuda\tavailable") || cuda.contains("libcuda"), "CUDA did not get as far as the driver: " + cuda);
        assertFalse(output.contains("IllegalAccessError") || output.contains("does not read"), output);
        assertFalse(output.contains("restricted method"), "a native-access warning: " + output);
    }

    @Test
    void losskitModulesOnTheModulePathJCudaOnTheClassPath() throws Exception {
        assertBackendsFound(run(List.of(
                "--module-path", losskitModules(),
                "--add-modules", "losskit.api,losskit.cpu,losskit.cuda,jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED",
                "-cp", examples() + File.pathSeparator + jcudaJars())));
    }

    @Test
    void jcudaOnTheModulePathToo() throws Exception {
        // JCuda's jars carry no module name: they become the automatic modules jcuda and jcuda.natives, and the
        // native-access flag names jcuda, which calls System.loadLibrary.
        assertBackendsFound(run(List.of(
                "--module-path", losskitModules() + File.pathSeparator + jcudaJars(),
                "--add-modules", "losskit.api,losskit.cpu,losskit.cuda,jcuda,jdk.incubator.vector",
                "--enable-native-access=jcuda",
                "-cp", examples())));
    }

    @Test
    void everythingOnTheClassPath() throws Exception {
        assertBackendsFound(run(List.of(
                "--add-modules", "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED",
                "-cp", String.join(File.pathSeparator, examples(), losskitModules(), jcudaJars()))));
    }
}
