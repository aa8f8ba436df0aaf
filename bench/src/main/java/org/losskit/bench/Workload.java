package org.losskit.bench;

import org.losskit.Op;

/** What the throughput sweep times, each with the catalogue op it belongs to (for {@code --ops}). */
public enum Workload {
    /** Fused softmax cross-entropy, class-index targets, mean: loss and gradient from one call. */
    CROSS_ENTROPY("cross-entropy fwd+grad", "cross-entropy", Op.CROSS_ENTROPY),
    /** BCE with logits, mean, 0/1 targets: loss and gradient from one call. */
    BCE_WITH_LOGITS("bce-with-logits fwd+grad", "bce-with-logits", Op.BCE_WITH_LOGITS),
    /** Compensated whole-array sum. */
    SUM("sum", "sum", Op.REDUCTION);

    private final String label;
    private final String fileName;
    private final Op op;

    Workload(String label, String fileName, Op op) {
        this.label = label;
        this.fileName = fileName;
        this.op = op;
    }

    public String label() { return label; }

    /** Stem of this workload's chart file. */
    public String fileName() { return fileName; }

    public Op op() { return op; }

    /** Cross-entropy is timed over rows x vocabulary; the others over a flat number of elements. */
    public boolean isRowWise() { return this == CROSS_ENTROPY; }
}
