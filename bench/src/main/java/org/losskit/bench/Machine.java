package org.losskit.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** What the figures were measured on: CPU model, cores, OS, JVM. */
record Machine(String cpu, int cores, String os, String java, String vm) {

    static Machine current() {
        return new Machine(cpuModel(), Runtime.getRuntime().availableProcessors(),
                System.getProperty("os.name") + " " + System.getProperty("os.version") + " " + System.getProperty("os.arch"),
                System.getProperty("java.runtime.version"), System.getProperty("java.vm.name"));
    }

    static String describe() {
        Machine m = current();
        return "machine: " + m.cpu() + ", " + m.cores() + " cores, " + m.os() + "; Java " + m.java() + " (" + m.vm() + ")";
    }

    /** The "model name" line of /proc/cpuinfo on Linux, else the architecture. */
    private static String cpuModel() {
        Path cpuinfo = Path.of("/proc/cpuinfo");
        try {
            if (Files.isReadable(cpuinfo)) {
                List<String> lines = Files.readAllLines(cpuinfo);
                for (String line : lines) {
                    if (line.startsWith("model name")) return line.substring(line.indexOf(':') + 1).trim();
                }
            }
        } catch (IOException | RuntimeException e) {
            // fall through to the architecture
        }
        return System.getProperty("os.arch");
    }
}
