package org.losskit.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;

import com.fasterxml.jackson.annotation.JsonProperty;

import org.losskit.ErrorBound;
import org.losskit.LossEngine;
import org.losskit.Op;
import org.losskit.bench.OpCases.OpCase;
import org.losskit.bench.OpCases.Outcome;

/**
 * Runs every case of {@link OpCases} on a backend and on the reference backend and measures each difference as a
 * fraction of the op's documented float32 bound ({@link Op#float32Bound()}): 0 is exact, 1 is at the bound, above
 * 1 fails. The returned value and every unreduced loss (or per-row result) use the loss bound, every gradient
 * element the gradient bound relative to the largest exact gradient element.
 *
 * <p>The reference backend is the oracle itself: its rows say so rather than compare it with itself (its own
 * correctness is checked against the golden vectors by the api module's tests).
 */
final class CrossCheck {
    static final String REFERENCE = "reference";

    private CrossCheck() {}

    /** The result for one op on one backend, aggregated over the op's cases. */
    record OpResult(String backend, String op, boolean oracle, int cases, List<String> ranOn,
                    double worstLossFraction, double worstGradientFraction, String worstCase, String error) {
        @JsonProperty
        double worstFraction() {
            return Math.max(worstLossFraction, worstGradientFraction);
        }

        @JsonProperty
        boolean pass() {
            return error == null && worstFraction() <= 1.0;
        }
    }

    /**
     * Cross-checks {@code backend} on every case whose op {@code selected} accepts, reporting progress per case.
     * The engine falls back to the reference for ops the backend does not implement; {@code ranOn} says where each
     * op actually ran.
     */
    static List<OpResult> run(String backend, List<OpCase> cases, Predicate<Op> selected, ProgressBar progress) {
        Map<Op, List<OpCase>> byOp = new LinkedHashMap<>();
        for (OpCase c : cases) {
            if (selected.test(c.op())) byOp.computeIfAbsent(c.op(), k -> new ArrayList<>()).add(c);
        }
        List<OpResult> results = new ArrayList<>();
        if (backend.equals(REFERENCE)) {
            byOp.forEach((op, list) -> {
                results.add(new OpResult(backend, op.name(), true, list.size(), List.of(REFERENCE), 0, 0, "(oracle)", null));
                progress.advance(list.size(), "cross-check reference " + op);
            });
            return results;
        }
        try (LossEngine reference = LossEngine.builder().backend(REFERENCE).build();
             LossEngine engine = LossEngine.builder().backend(backend).cudaHostCrossoverElements(0).build()) {
            for (var entry : byOp.entrySet()) {
                results.add(checkOp(backend, entry.getKey(), entry.getValue(), reference, engine, progress));
            }
        }
        return results;
    }

    private static OpResult checkOp(String backend, Op op, List<OpCase> cases, LossEngine reference, LossEngine engine,
                                    ProgressBar progress) {
        ErrorBound bound = op.float32Bound();
        double worstLoss = 0;
        double worstGradient = 0;
        String worstCase = cases.getFirst().name();
        Set<String> ranOn = new TreeSet<>();
        for (OpCase c : cases) {
            progress.advance(1, "cross-check " + backend + " " + c.name());
            ranOn.add(engine.backendFor(op, c.elements()));
            Outcome exact = c.run(reference);
            Outcome actual;
            try {
                actual = c.run(engine);
            } catch (RuntimeException e) {
                return new OpResult(backend, op.name(), false, cases.size(), List.copyOf(ranOn),
                        Double.POSITIVE_INFINITY, Double.POSITIVE_INFINITY, c.name(), e.toString());
            }
            double loss = lossFraction(bound, actual, exact);
            double gradient = gradientFraction(bound, actual.gradient(), exact.gradient());
            if (Math.max(loss, gradient) > Math.max(worstLoss, worstGradient)) worstCase = c.name();
            worstLoss = Math.max(worstLoss, loss);
            worstGradient = Math.max(worstGradient, gradient);
        }
        return new OpResult(backend, op.name(), false, cases.size(), List.copyOf(ranOn), worstLoss, worstGradient,
                worstCase, null);
    }

    /** Worst fraction of the loss bound over the returned value and the per-item results. */
    static double lossFraction(ErrorBound bound, Outcome actual, Outcome exact) {
        double worst = bound.lossErrorFraction(actual.value(), exact.value());
        if (exact.perItem() != null) {
            for (int i = 0; i < exact.perItem().length; i++) {
                worst = Math.max(worst, bound.lossErrorFraction(actual.perItem()[i], exact.perItem()[i]));
            }
        }
        return worst;
    }

    /** Worst fraction of the gradient bound over the elements, scaled by the largest exact element. */
    static double gradientFraction(ErrorBound bound, float[] actual, float[] exact) {
        if (exact == null) return 0;
        double maxAbsExact = 0;
        for (float e : exact) {
            if (Float.isFinite(e)) maxAbsExact = Math.max(maxAbsExact, Math.abs(e));
        }
        double worst = 0;
        for (int i = 0; i < exact.length; i++) {
            worst = Math.max(worst, bound.gradientErrorFraction(actual[i], exact[i], maxAbsExact));
        }
        return worst;
    }
}
