package org.losskit.bench;

/** libtorch on the CPU through DJL as a peer of the report's sweep; registered in META-INF/services. */
public final class TorchPeer implements Peer {

    @Override
    public String name() {
        return "libtorch";
    }

    @Override
    public String description() {
        return TorchCalls.description();
    }

    @Override
    public PreparedCall prepare(Workload workload, int rows, int cols, long seed) {
        BackendCalls.SweepData data = BackendCalls.SweepData.make(workload, rows, cols, seed);
        return switch (workload) {
            case CROSS_ENTROPY -> TorchCalls.crossEntropy(data.input(), data.classTargets(), rows, cols);
            case BCE_WITH_LOGITS -> TorchCalls.bceWithLogits(data.input(), data.binaryTargets());
            case SUM -> TorchCalls.sum(data.input());
        };
    }

    @Override
    public void close() {}
}
