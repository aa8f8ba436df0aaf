package org.losskit.bench;

/**
 * Another library timed beside losskit's backends in the report (for example libtorch through DJL, when the
 * {@code djl} Maven profile put it on the class path). Found with {@link java.util.ServiceLoader}, so the report
 * compiles and runs without any peer.
 */
public interface Peer extends AutoCloseable {
    /** Name in tables and charts, e.g. "libtorch-cpu". */
    String name();

    /** What it is, for the report: "libtorch 2.7.1 CPU through DJL 0.35.1". */
    String description();

    /**
     * A prepared call of {@code workload} on random data of {@code rows x cols} (rows = 1 for the flat workloads),
     * or null when this peer does not run that workload. Throws when the peer cannot run here (native library
     * missing); the report records the message and goes on.
     */
    PreparedCall prepare(Workload workload, int rows, int cols, long seed);

    @Override
    void close();
}
