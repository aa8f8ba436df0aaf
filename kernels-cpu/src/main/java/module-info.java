/**
 * losskit's CPU backend on the JDK Vector API. {@link org.losskit.cpu.VectorProvider} loads without the incubator
 * module and reports it missing; everything that touches {@code jdk.incubator.vector} is loaded by name only after
 * the probe succeeded.
 */
module losskit.cpu {
    requires losskit.api;
    requires static jdk.incubator.vector;

    provides org.losskit.spi.BackendProvider with org.losskit.cpu.VectorProvider;
}
