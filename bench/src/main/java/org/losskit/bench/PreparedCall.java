package org.losskit.bench;

/**
 * One call of a workload on inputs and output buffers made beforehand, so that timing it measures the kernel and
 * nothing else. {@link #call()} returns the loss (or sum) so the caller can consume it.
 */
public interface PreparedCall extends AutoCloseable {
    double call();

    /** Frees what the call holds (native tensors of a peer); nothing by default. */
    @Override
    default void close() {}
}
