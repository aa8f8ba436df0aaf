package org.losskit.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

import org.losskit.ElementType;
import org.losskit.ReduceOp;

/**
 * The numbers host and device must agree on, read from the CUDA sources: loss kinds, reduction codes, element type
 * codes, scale modes and struct sizes; and every argument list the backend builds matches its kernel.
 */
class KernelContractTest {
    private static final Map<String, Long> DEFINES = readDefines();

    private static Map<String, Long> readDefines() {
        Map<String, Long> defines = new HashMap<>();
        Pattern define = Pattern.compile("^#define\\s+(LK_\\w+)\\s+(\\d+)\\b", Pattern.MULTILINE);
        try (var files = Files.list(CommittedPtxTest.SOURCES.resolve("cuda"))) {
            for (Path file : files.toList()) {
                Matcher m = define.matcher(Files.readString(file));
                while (m.find()) defines.put(m.group(1), Long.parseLong(m.group(2)));
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return defines;
    }

    private static long define(String name) {
        Long value = DEFINES.get(name);
        if (value == null) throw new AssertionError("no #define " + name + " in src-cuda/cuda");
        return value;
    }

    @Test
    void pointwiseKindsMatchTheKernelsCodes() {
        for (PointwiseKind kind : PointwiseKind.values()) assertEquals(define("LK_" + kind.name()), kind.ordinal(), kind.name());
        assertEquals(define("LK_FLAG_LOG_INPUT"), PointwiseKind.FLAG_LOG_INPUT);
        assertEquals(define("LK_FLAG_FULL"), PointwiseKind.FLAG_FULL);
    }

    @Test
    void reductionCodesMatchReduceOpOrdinals() {
        for (ReduceOp op : ReduceOp.values()) assertEquals(define("LK_" + op.name()), op.ordinal(), op.name());
        assertEquals(define("LK_ARGMAX"), CudaBackend.REDUCE_ARGMAX);
        assertEquals(define("LK_DOT"), CudaBackend.REDUCE_DOT);
    }

    @Test
    void elementTypeCodesAndScaleModesMatch() {
        assertEquals(define("LK_F32"), DeviceOperand.typeCode(ElementType.FLOAT32));
        assertEquals(define("LK_BF16"), DeviceOperand.typeCode(ElementType.BFLOAT16));
        assertEquals(define("LK_F16"), DeviceOperand.typeCode(ElementType.FLOAT16));
        assertEquals(define("LK_SCALE_FIXED"), CudaBackend.SCALE_FIXED);
        assertEquals(define("LK_SCALE_BY_TARGET_WEIGHT"), CudaBackend.SCALE_BY_TARGET_WEIGHT);
    }

    @Test
    void structSizesMatchTheStaticAsserts() throws IOException {
        String source = Files.readString(CommittedPtxTest.SOURCES.resolve("cuda/cross_entropy.cuh"));
        assertTrue(source.contains("sizeof(CallStatus) == " + CallStatus.BYTES), "CallStatus size");
        assertTrue(source.contains("sizeof(RowAccum) == " + LaunchPlan.SPLIT_STATE_BYTES), "RowAccum size");
    }

    @Test
    void everyArgumentListMatchesItsKernel() {
        // Each builder checks itself against the kernel's declared parameters (which PtxEntriesTest checks against
        // the PTX); building them with any values proves the order and types.
        CudaBackend.checkTargetsArgs(1, 2, 3, true, -100, 0, 4).checkAgainst(Kernel.CE_CHECK_TARGETS);
        CudaBackend.nllArgs(1, 0, 8, 2, 8, 2, 0, -100, 1, 1f, 3, 8, 0, 4, 5).checkAgainst(Kernel.NLL);
        KernelArgs focal = CudaBackend.softmaxFocalArgs(1, 0, 8, 2, 8, 2, 0, 2f, 1f, 3, 8, 0, 4, 5);
        focal.checkAgainst(Kernel.SOFTMAX_FOCAL_WARP).checkAgainst(Kernel.SOFTMAX_FOCAL_BLOCK);
        KernelArgs ce = CudaBackend.crossEntropyArgs(1, 0, 8, 2, 8, 2, 0, 0, 0, 0, 8f, -100, 0.1f, 0f, 0f, 0, 1f, 3, 8, 0,
                0, 0, 0, 0, 0, 4, 5, 1, 0);
        for (Kernel k : new Kernel[] {Kernel.CE_INDEX_WARP, Kernel.CE_INDEX_BLOCK, Kernel.CE_INDEX_SPLIT_ACCUMULATE,
                Kernel.CE_INDEX_SPLIT_FINISH, Kernel.CE_PROBS_WARP, Kernel.CE_PROBS_BLOCK, Kernel.CE_PROBS_SPLIT_ACCUMULATE,
                Kernel.CE_PROBS_SPLIT_FINISH}) {
            ce.checkAgainst(k);
        }
        CudaBackend.pointwiseArgs(0, 0, 0, 0, 1, 0, 4, 2, 0, 4, 0, 0, 0, 0, 1, 4, 3, 4, 0, 1, 5).checkAgainst(Kernel.POINTWISE);
        KernelArgs dice = CudaBackend.diceArgs(1, 0, 4, 2, 0, 4, 1, 4, 1, 3, 4, 0, 1, 5);
        dice.checkAgainst(Kernel.DICE_WARP).checkAgainst(Kernel.DICE_BLOCK);
        CudaBackend.reduceAllArgs(0, 1, 0, 4, 0, 0, 0, 1, 4, 5).checkAgainst(Kernel.REDUCE_ALL);
        KernelArgs rows = CudaBackend.reduceRowsArgs(0, 1, 0, 4, 1, 4, 2, 0);
        rows.checkAgainst(Kernel.REDUCE_ROWS_WARP).checkAgainst(Kernel.REDUCE_ROWS_BLOCK);
    }

    @Test
    void aWrongArgumentListIsRefusedBeforeTheDriverSeesIt() {
        KernelArgs wrong = new KernelArgs().i32(0).pointer(1);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> wrong.checkAgainst(Kernel.REDUCE_ALL));
        assertTrue(e.getMessage().contains("lk_reduce_all"), e.getMessage());
    }
}
