package org.losskit.cuda;

/**
 * Makes JCuda readable from this module before any JCuda class is touched. module-info explains why JCuda is not
 * {@code requires}d: on the module path this module would otherwise not read JCuda's module, and the first JCuda
 * call would fail with an {@link IllegalAccessError}. {@link Module#addReads} lets a module add a read edge for
 * itself; on the class path this module is unnamed, reads every module already, and nothing needs doing.
 */
final class JCudaLink {
    /** A JCuda class that loads without its native library. */
    static final String ANCHOR = "jcuda.Pointer";

    private JCudaLink() {}

    /**
     * Adds the read edge to JCuda's module (the unnamed module of the class path, or the automatic module
     * {@code jcuda}). Throws {@link NoClassDefFoundError} naming JCuda when it is on neither path, which the probe
     * reports as missing JCuda classes.
     */
    static void readJCuda() {
        Module self = JCudaLink.class.getModule();
        if (!self.isNamed()) return;
        Class<?> anchor;
        try {
            anchor = Class.forName(ANCHOR, false, JCudaLink.class.getClassLoader());
        } catch (ClassNotFoundException e) {
            NoClassDefFoundError missing = new NoClassDefFoundError(ANCHOR.replace('.', '/'));
            missing.initCause(e);
            throw missing;
        }
        self.addReads(anchor.getModule());
    }
}
