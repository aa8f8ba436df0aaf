package org.losskit.testing;

import java.util.EnumSet;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.losskit.ErrorBound;
import org.losskit.LossEngine;
import org.losskit.Op;
import org.losskit.testing.GoldenCases.GoldenCase;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Runs every case of every golden file (PyTorch 1.13) through the public {@link LossEngine} API with
 * {@link GoldenRunner}, within the bound the subclass names: {@link ErrorBound#REFERENCE} for the reference
 * backend, {@link Op#float32Bound()} for float32 backends. One test per golden file.
 *
 * <p>A subclass supplies the engine (built once per class, closed after) and the bound per op, and, when its
 * backend does not implement every op, the ones it does ({@link #opsUnderTest()}): the golden files of the others
 * are skipped, each with a message naming the op.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class GoldenTestBase {
    private LossEngine engine;

    /** The engine under test; called once per test class. */
    protected abstract LossEngine createEngine();

    /** The bound the engine's backend documents for {@code op}. */
    protected abstract ErrorBound bound(Op op);

    @BeforeAll
    final void openEngine() {
        engine = createEngine();
    }

    @AfterAll
    final void closeEngine() {
        if (engine != null) engine.close();
    }

    /** The ops the engine implements (default: every op); golden files of other ops are skipped. */
    protected Set<Op> opsUnderTest() {
        return EnumSet.allOf(Op.class);
    }

    protected final LossEngine engine() {
        return engine;
    }

    final List<String> goldenFiles() {
        return GoldenCases.FILES;
    }

    @ParameterizedTest(name = "golden cases of {0}.json.gz match within the documented bound")
    @MethodSource("goldenFiles")
    final void goldenCasesMatch(String file) {
        Op op = GoldenCases.op(file);
        assumeTrue(opsUnderTest().contains(op), () -> engine + " does not implement " + op + ": golden " + file + " skipped");
        List<GoldenCase> cases = GoldenCases.load(file);
        assertFalse(cases.isEmpty(), "golden file " + file + ".json.gz yields no cases");
        Discrepancies discrepancies = new Discrepancies();
        GoldenRunner runner = new GoldenRunner(engine, this::bound);
        for (GoldenCase c : cases) runner.run(c, discrepancies);
        System.out.println("golden " + file + ": " + cases.size() + " cases run on " + engine.backendName());
        discrepancies.assertNone("golden " + file + " on " + engine.backendName());
    }
}
