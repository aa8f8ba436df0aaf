package org.losskit.spi;

/**
 * Found with {@link java.util.ServiceLoader}: one per backend module. The API module never links against a
 * backend's dependencies ({@code jdk.incubator.vector}, JCuda); a provider must therefore be loadable even when
 * those are missing, and report that through {@link #probe()} instead of failing to load.
 */
public interface BackendProvider {

    /** The name users ask for: "cuda", "cpu" or "reference". */
    String name();

    /** Order for {@code auto}: the available provider with the highest priority is chosen. */
    int autoPriority();

    /** Cheap check of whether this backend can run here; never throws. */
    BackendProbe probe();

    /** Opens the backend. Only called after {@link #probe()} said it is available; may still throw with the cause. */
    LossBackend open(EngineSettings settings);
}
