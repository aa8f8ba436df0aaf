package org.losskit;

import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.concurrent.atomic.AtomicBoolean;

import org.losskit.reference.ReferenceProvider;
import org.losskit.spi.BackendProbe;
import org.losskit.spi.BackendProvider;
import org.losskit.spi.EngineSettings;
import org.losskit.spi.LossBackend;

/**
 * Finds the backend providers and opens the backends of one engine, as DESIGN.md describes:
 * {@code auto} takes the available provider of highest priority (CUDA, then the Vector API, then the reference);
 * an explicit request (API call, system property {@value #PROPERTY}, environment variable {@value #ENVIRONMENT})
 * either gets that backend or throws with the cause.
 *
 * <p>Logging, through {@link System.Logger} "org.losskit" (java.util.logging unless the application routes it
 * elsewhere): every engine logs its choice, and for {@code auto} why each other backend was skipped, at DEBUG; a
 * degraded automatic choice (anything slower than the Vector API backend, see {@link #isDegraded}) is logged once
 * per JVM at WARNING, with what would make it fast.
 */
final class BackendSelection {
    static final String PROPERTY = "losskit.backend";
    static final String ENVIRONMENT = "LOSSKIT_BACKEND";
    static final String AUTO = "auto";

    private static final System.Logger LOG = System.getLogger("org.losskit");

    /** The Vector API backend: what every supported machine can run, so {@code auto} below it is degraded. */
    static final String VECTOR_BACKEND = "cpu";
    /** The backends {@code auto} takes when nothing is wrong: CUDA where a GPU is, else the Vector API backend. */
    private static final List<String> FULL_SPEED = List.of("cuda", VECTOR_BACKEND);
    /** Set once the degraded-choice warning was logged: one warning per JVM, however many engines are built. */
    static final AtomicBoolean DEGRADED_WARNING_LOGGED = new AtomicBoolean();

    /** A provider together with its probe result, for listings and the selection log. */
    record Candidate(BackendProvider provider, BackendProbe probe) {
        String name() {
            return provider.name();
        }
    }

    private BackendSelection() {}

    /** Every provider on the class path or module path, highest priority first, each probed once. */
    static List<Candidate> discover() {
        List<Candidate> found = new ArrayList<>();
        ServiceLoader<BackendProvider> loader = ServiceLoader.load(BackendProvider.class, BackendSelection.class.getClassLoader());
        var it = loader.iterator();
        while (true) {
            try {
                if (!it.hasNext()) break;
                BackendProvider provider = it.next();
                if (found.stream().noneMatch(c -> c.name().equals(provider.name()))) {
                    found.add(new Candidate(provider, safeProbe(provider)));
                }
            } catch (ServiceConfigurationError | LinkageError e) {
                LOG.log(Level.WARNING, "losskit: a backend provider could not be loaded: " + e);
            }
        }
        if (found.stream().noneMatch(c -> c.name().equals(ReferenceProvider.NAME))) {
            BackendProvider reference = new ReferenceProvider();
            found.add(new Candidate(reference, reference.probe()));
        }
        found.sort(Comparator.comparingInt((Candidate c) -> c.provider().autoPriority()).reversed());
        return List.copyOf(found);
    }

    private static BackendProbe safeProbe(BackendProvider provider) {
        try {
            return provider.probe();
        } catch (RuntimeException | LinkageError e) {
            return BackendProbe.unavailable("probe failed: " + e, "see the cause", e);
        }
    }

    /** The requested name and where it came from, API call first, then property, then environment. */
    record Request(String name, String source) {}

    static Request request(String apiChoice) {
        if (apiChoice != null) return new Request(normalize(apiChoice), "the engine builder");
        String property = System.getProperty(PROPERTY);
        if (property != null && !property.isBlank()) return new Request(normalize(property), "system property " + PROPERTY);
        String environment = System.getenv(ENVIRONMENT);
        if (environment != null && !environment.isBlank()) {
            return new Request(normalize(environment), "environment variable " + ENVIRONMENT);
        }
        return new Request(AUTO, "default");
    }

    private static String normalize(String name) {
        return name.trim().toLowerCase(Locale.ROOT);
    }

    /**
     * Opens the backends an engine routes to, best first; the reference backend is always last (when fallback is
     * allowed) so that every op has a home.
     */
    static List<LossBackend> open(Request request, EngineSettings settings, boolean fallbackToReference) {
        List<Candidate> candidates = discover();
        List<LossBackend> chain = new ArrayList<>();
        try {
            if (request.name().equals(AUTO)) {
                openAuto(candidates, settings, chain);
            } else {
                openExplicit(request, candidates, settings, chain);
            }
            if (fallbackToReference && chain.stream().noneMatch(b -> b.name().equals(ReferenceProvider.NAME))) {
                chain.add(new ReferenceProvider().open(settings));
            }
        } catch (RuntimeException e) {
            chain.forEach(LossBackend::close);
            throw e;
        }
        return List.copyOf(chain);
    }

    private static void openAuto(List<Candidate> candidates, EngineSettings settings, List<LossBackend> chain) {
        StringBuilder skipped = new StringBuilder();
        for (Candidate candidate : candidates) {
            if (!candidate.probe().available()) {
                skipped.append("; skipped ").append(candidate.name()).append(": ").append(candidate.probe().detail());
                if (!candidate.probe().fix().isEmpty()) skipped.append(" (fix: ").append(candidate.probe().fix()).append(')');
                continue;
            }
            try {
                chain.add(candidate.provider().open(settings));
            } catch (RuntimeException | LinkageError e) {
                skipped.append("; skipped ").append(candidate.name()).append(": failed to open: ").append(e);
            }
        }
        if (chain.isEmpty()) throw new IllegalStateException("no losskit backend could be opened" + skipped);
        LossBackend chosen = chain.getFirst();
        LOG.log(Level.DEBUG, () -> "losskit: backend " + chosen.name() + " (" + chosen.description()
                + ") chosen automatically" + skipped);
        if (isDegraded(chosen.name()) && !DEGRADED_WARNING_LOGGED.getAndSet(true)) {
            LOG.log(Level.WARNING, "losskit: backend " + chosen.name() + " (" + chosen.description() + ") chosen automatically, "
                    + "much slower than the Vector API backend: " + vectorBackendAdvice(candidates)
                    + ". (Logged once per JVM; choose a backend explicitly with losskit.backend to silence it.)");
        }
    }

    /** True when {@code auto} landed on a backend slower than the Vector API one (the reference, for instance). */
    static boolean isDegraded(String chosen) {
        return !FULL_SPEED.contains(chosen);
    }

    /** Why the Vector API backend did not run and what fixes it: its probe's reason, or the missing artifact. */
    private static String vectorBackendAdvice(List<Candidate> candidates) {
        return candidates.stream().filter(c -> c.name().equals(VECTOR_BACKEND)).findFirst()
                .map(c -> c.probe().available()
                        ? "the Vector API backend is available but failed to open (see the DEBUG log)"
                        : c.probe().detail() + (c.probe().fix().isEmpty() ? "" : "; fix: " + c.probe().fix()))
                .orElse("losskit-kernels-cpu is not on the class path; fix: add the dependency org.losskit:losskit-kernels-cpu");
    }

    private static void openExplicit(Request request, List<Candidate> candidates, EngineSettings settings, List<LossBackend> chain) {
        Candidate candidate = candidates.stream().filter(c -> c.name().equals(request.name())).findFirst().orElse(null);
        if (candidate == null) {
            throw new IllegalStateException("losskit backend '" + request.name() + "' was requested by " + request.source()
                    + " but no such backend is on the class path; known here: "
                    + candidates.stream().map(Candidate::name).toList() + " (cpu needs losskit-kernels-cpu, cuda needs losskit-kernels-cuda)");
        }
        BackendProbe probe = candidate.probe();
        if (!probe.available()) {
            throw new IllegalStateException("losskit backend '" + request.name() + "' was requested by " + request.source()
                    + " but cannot run here: " + probe.detail() + (probe.fix().isEmpty() ? "" : "; fix: " + probe.fix()),
                    probe.cause());
        }
        try {
            chain.add(candidate.provider().open(settings));
        } catch (RuntimeException | LinkageError e) {
            throw new IllegalStateException("losskit backend '" + request.name() + "' was requested by " + request.source()
                    + " but failed to open: " + e.getMessage(), e);
        }
        LossBackend chosen = chain.getFirst();
        LOG.log(Level.DEBUG, () -> "losskit: backend " + chosen.name() + " (" + chosen.description()
                + ") requested by " + request.source());
    }
}
