package org.losskit.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.losskit.LossEngine;

/**
 * What the figures were measured on and with: CPU model, cores, OS, the JDK, the preferred float vector width, and
 * the losskit version and commit (report.json's {@code meta.machine}).
 *
 * @param vectorBits   width of {@code FloatVector.SPECIES_PREFERRED} in bits, or null without the Vector API
 * @param losskitVersion the version in losskit-api's jar manifest, or "unknown (classes not from a jar)"
 * @param commit       the git commit bench/run was started from ({@value #COMMIT_PROPERTY}, "-dirty" when the tree
 *                     had uncommitted changes), or "unknown"
 */
record Machine(String cpu, int cores, String os, String java, String vm, String javaVendor, Integer vectorBits,
               String losskitVersion, String commit) {

    /** Set by bench/run (and the GPU bundle's launcher) to the commit the jars were built from. */
    static final String COMMIT_PROPERTY = "losskit.commit";

    static Machine current() {
        String version = LossEngine.class.getPackage().getImplementationVersion();
        return new Machine(cpuModel(), Runtime.getRuntime().availableProcessors(),
                System.getProperty("os.name") + " " + System.getProperty("os.version") + " " + System.getProperty("os.arch"),
                System.getProperty("java.runtime.version"), System.getProperty("java.vm.name"), System.getProperty("java.vendor"),
                preferredVectorBits(), version != null ? version : "unknown (classes not from a jar)",
                System.getProperty(COMMIT_PROPERTY, "unknown"));
    }

    static String describe() {
        Machine m = current();
        return "machine: " + m.cpu() + ", " + m.cores() + " cores, " + m.os() + "; Java " + m.java() + " (" + m.vm() + ", "
                + m.javaVendor() + "); " + (m.vectorBits() == null ? "no Vector API" : m.vectorBits() + "-bit float vectors")
                + "; losskit " + m.losskitVersion() + " at commit " + m.commit();
    }

    /** FloatVector.SPECIES_PREFERRED's width, asked by reflection so that the bench runs without the Vector API. */
    private static Integer preferredVectorBits() {
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) return null;
        try {
            Object species = Class.forName("jdk.incubator.vector.FloatVector").getField("SPECIES_PREFERRED").get(null);
            // through the public interface: the species' own class is not public
            return (Integer) Class.forName("jdk.incubator.vector.VectorSpecies").getMethod("vectorBitSize").invoke(species);
        } catch (ReflectiveOperationException | LinkageError | RuntimeException e) {
            return null;
        }
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
