package org.losskit.cuda;

import static org.losskit.cuda.ParamType.F32;
import static org.losskit.cuda.ParamType.I32;
import static org.losskit.cuda.ParamType.I64;
import static org.losskit.cuda.ParamType.POINTER;

import java.util.List;

/**
 * Every kernel the backend launches: its PTX entry name (an {@code extern "C"} function of src-cuda/cuda) and
 * its parameter list, which each launch is checked against ({@link KernelArgs}) and which a test checks against
 * the PTX, so host and device cannot drift apart silently.
 */
enum Kernel {
    CE_CHECK_TARGETS("lk_ce_check_targets", List.of(POINTER, I32, I32, I32, I32, POINTER, POINTER)),
    CE_INDEX_WARP("lk_ce_index_warp", Signatures.CROSS_ENTROPY),
    CE_INDEX_BLOCK("lk_ce_index_block", Signatures.CROSS_ENTROPY),
    CE_INDEX_SPLIT_ACCUMULATE("lk_ce_index_split_accumulate", Signatures.CROSS_ENTROPY),
    CE_INDEX_SPLIT_FINISH("lk_ce_index_split_finish", Signatures.CROSS_ENTROPY),
    CE_PROBS_WARP("lk_ce_probs_warp", Signatures.CROSS_ENTROPY),
    CE_PROBS_BLOCK("lk_ce_probs_block", Signatures.CROSS_ENTROPY),
    CE_PROBS_SPLIT_ACCUMULATE("lk_ce_probs_split_accumulate", Signatures.CROSS_ENTROPY),
    CE_PROBS_SPLIT_FINISH("lk_ce_probs_split_finish", Signatures.CROSS_ENTROPY),
    SOFTMAX_FOCAL_WARP("lk_softmax_focal_warp", Signatures.SOFTMAX_FOCAL),
    SOFTMAX_FOCAL_BLOCK("lk_softmax_focal_block", Signatures.SOFTMAX_FOCAL),
    NLL("lk_nll", List.of(POINTER, I32, I64, I32, I32, POINTER, POINTER, I32, I32, F32, POINTER, I64, POINTER, POINTER,
            POINTER)),
    POINTWISE("lk_pointwise", List.of(I32, F32, F32, I32, POINTER, I32, I64, POINTER, I32, I64, POINTER, I32, I64,
            POINTER, I32, I32, POINTER, I64, POINTER, F32, POINTER)),
    DICE_WARP("lk_dice_warp", Signatures.DICE),
    DICE_BLOCK("lk_dice_block", Signatures.DICE),
    REDUCE_ALL("lk_reduce_all", List.of(I32, POINTER, I32, I64, POINTER, I32, I64, I32, I32, POINTER)),
    REDUCE_ROWS_WARP("lk_reduce_rows_warp", Signatures.REDUCE_ROWS),
    REDUCE_ROWS_BLOCK("lk_reduce_rows_block", Signatures.REDUCE_ROWS);

    private final String entry;
    private final List<ParamType> parameters;

    Kernel(String entry, List<ParamType> parameters) {
        this.entry = entry;
        this.parameters = parameters;
    }

    /** The PTX entry name looked up with cuModuleGetFunction. */
    String entry() {
        return entry;
    }

    List<ParamType> parameters() {
        return parameters;
    }

    /** Parameter lists shared by several kernels (enum constants cannot refer to static fields of their enum). */
    private static final class Signatures {
        /** See LK_CE_PARAMS in cross_entropy.cuh. */
        static final List<ParamType> CROSS_ENTROPY = List.of(
                POINTER, I32, I64, // logits, type, row stride
                I32, I32, // rows, cols
                POINTER, // index targets
                POINTER, I32, I64, // probability targets, type, row stride
                POINTER, F32, // class weights, their sum
                I32, F32, F32, F32, // ignore index, smoothing, z-loss, softcap
                I32, F32, // scale mode, scale
                POINTER, I64, // gradient, row stride
                POINTER, POINTER, POINTER, POINTER, POINTER, POINTER, // losses, lse, max, argmax, target p, entropy
                POINTER, POINTER, // status, partials
                I32, POINTER); // splits, split states
        /** See LK_FOCAL_PARAMS in softmax_focal.cuh. */
        static final List<ParamType> SOFTMAX_FOCAL = List.of(POINTER, I32, I64, I32, I32, POINTER, POINTER, F32, F32,
                POINTER, I64, POINTER, POINTER, POINTER);
        /** See LK_DICE_PARAMS in dice.cuh. */
        static final List<ParamType> DICE = List.of(POINTER, I32, I64, POINTER, I32, I64, I32, I32, F32, POINTER, I64,
                POINTER, F32, POINTER);
        static final List<ParamType> REDUCE_ROWS = List.of(I32, POINTER, I32, I64, I32, I32, POINTER, POINTER);
    }
}
