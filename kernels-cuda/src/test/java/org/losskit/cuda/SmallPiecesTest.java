package org.losskit.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import org.junit.jupiter.api.Test;

import org.losskit.PointwiseLoss;
import org.losskit.Reduction;
import org.losskit.spi.BackendProbe;
import org.losskit.spi.EngineSettings;

/** Host-side pieces of the backend that need no GPU: status decoding, crossover, probe diagnosis, loss parameters. */
class SmallPiecesTest {

    @Test
    void badTargetWordNamesTheRowAndTheValue() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment status = arena.allocate(CallStatus.BYTES);
            status.set(ValueLayout.JAVA_LONG, 0, (7L << 32) | (-5 & 0xffffffffL));
            status.set(ValueLayout.JAVA_DOUBLE, 8, 3.5);
            status.set(ValueLayout.JAVA_DOUBLE, 16, 4);
            CallStatus read = CallStatus.read(status);
            assertEquals(3.5, read.targetWeightSum());
            assertEquals(4, read.counted());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> read.throwIfBadTarget(10, -100));
            assertTrue(e.getMessage().contains("targets[7] = -5") && e.getMessage().contains("row 7"), e.getMessage());
        }
        new CallStatus(CallStatus.NO_BAD_TARGET, 1, 1).throwIfBadTarget(10, -100); // no bad target: no exception
    }

    @Test
    void crossoverEstimate() {
        // 30 us fixed, CPU 1.5 ns, GPU 8/24e9 + 8/20e9 = 0.733 ns per element: 30e-6 / 0.767e-9 = 39131
        assertEquals(39131, HostCrossover.estimate(30e-6, 1.5e-9, 8, 24e9, 20e9));
        assertEquals(Long.MAX_VALUE, HostCrossover.estimate(30e-6, 0.5e-9, 8, 24e9, 20e9), "GPU slower per element: never");
        assertEquals(65536, HostCrossover.DEFAULT_ELEMENTS);
        assertEquals(HostCrossover.DEFAULT_ELEMENTS, HostCrossover.threshold(EngineSettings.defaults()));
        assertEquals(123, HostCrossover.threshold(new EngineSettings(1, 123, 0)));
        assertEquals(0, HostCrossover.threshold(new EngineSettings(1, 0, 0)));
        assertEquals(1, HostCrossover.roundUpToPowerOfTwo(0));
        assertEquals(4, HostCrossover.roundUpToPowerOfTwo(3));
        assertEquals(4, HostCrossover.roundUpToPowerOfTwo(4));
        assertEquals(Long.MAX_VALUE, HostCrossover.roundUpToPowerOfTwo(Long.MAX_VALUE));
    }

    @Test
    void probeDiagnosisOfLinkageFailures() {
        BackendProbe noDriver = ProbeDiagnosis.linkageFailure(new UnsatisfiedLinkError(
                "/tmp/libJCudaDriver-12.6.0-linux-x86_64.so: libcuda.so.1: cannot open shared object file"));
        assertFalse(noDriver.available());
        assertTrue(noDriver.detail().contains("libcuda.so.1"), noDriver.detail());
        assertTrue(noDriver.fix().contains("NVIDIA driver"), noDriver.fix());

        BackendProbe noNatives = ProbeDiagnosis.linkageFailure(new UnsatisfiedLinkError(
                "Error while loading native library \"JCudaDriver-12.6.0-linux-x86_64\""));
        assertTrue(noNatives.detail().contains("native library"), noNatives.detail());
        assertTrue(noNatives.fix().contains("jcuda-natives"), noNatives.fix());

        BackendProbe noClasses = ProbeDiagnosis.linkageFailure(new NoClassDefFoundError("jcuda/driver/JCudaDriver"));
        assertTrue(noClasses.fix().contains("org.jcuda:jcuda"), noClasses.fix());
    }

    @Test
    void probeDiagnosisOfDriverAnswers() {
        assertTrue(ProbeDiagnosis.fromDriver(100, "CUDA_ERROR_NO_DEVICE", 0, 0, 0, "").detail().contains("no CUDA device"));
        assertTrue(ProbeDiagnosis.fromDriver(35, "CUDA_ERROR_INSUFFICIENT_DRIVER", 0, 0, 0, "").detail().contains("too old"));
        assertTrue(ProbeDiagnosis.fromDriver(999, "CUDA_ERROR_UNKNOWN", 0, 0, 0, "").detail().contains("cuInit failed"));
        BackendProbe oldDriver = ProbeDiagnosis.fromDriver(0, "", 12040, 1, 90, "H100");
        assertFalse(oldDriver.available());
        assertTrue(oldDriver.detail().contains("CUDA 12.4") && oldDriver.detail().contains("13.0"), oldDriver.detail());
        assertTrue(ProbeDiagnosis.fromDriver(0, "", 13000, 0, 0, "").detail().contains("no CUDA device"));
        BackendProbe pascal = ProbeDiagnosis.fromDriver(0, "", 13000, 1, 61, "GTX 1080");
        assertTrue(pascal.detail().contains("6.1") && pascal.detail().contains("GTX 1080"), pascal.detail());
        BackendProbe ok = ProbeDiagnosis.fromDriver(0, "", 13010, 2, 90, "NVIDIA H100 80GB HBM3");
        assertTrue(ok.available());
        assertEquals("CUDA 13.1 driver, 2 devices, device 0: NVIDIA H100 80GB HBM3 (sm_90)", ok.detail());
    }

    @Test
    void supportsExactlyTheOpsWithKernels() {
        java.util.Set<org.losskit.Op> expected = java.util.EnumSet.complementOf(java.util.EnumSet.of(
                org.losskit.Op.MULTI_MARGIN, org.losskit.Op.KL_DIV, org.losskit.Op.GAUSSIAN_NLL, org.losskit.Op.PENALTY));
        assertEquals(expected, CudaBackend.SUPPORTED);
        // every element-wise loss the backend claims has a kernel code
        for (PointwiseKind kind : PointwiseKind.values()) assertTrue(CudaBackend.SUPPORTED.contains(org.losskit.Op.valueOf(kind.name())));
    }

    @Test
    void pointwiseLaunchParameters() {
        PointwiseKind.Launch poisson = PointwiseKind.of(new PointwiseLoss.PoissonNll(Reduction.MEAN, true, true, 1e-8));
        assertEquals(PointwiseKind.POISSON_NLL, poisson.kind());
        assertEquals(PointwiseKind.FLAG_LOG_INPUT | PointwiseKind.FLAG_FULL, poisson.flags());
        assertEquals(1e-8f, poisson.p1());
        PointwiseKind.Launch focal = PointwiseKind.of(new PointwiseLoss.SigmoidFocal(Reduction.SUM, 0.25, 2));
        assertEquals(0.25f, focal.p1());
        assertEquals(2f, focal.p2());
        PointwiseKind.Launch bce = PointwiseKind.of(new PointwiseLoss.BceWithLogits(Reduction.SUM, org.losskit.Matrix.vector(new float[] {2, 3})));
        assertEquals(2, bce.posWeight().size());
        assertEquals(PointwiseKind.HUBER, PointwiseKind.of(new PointwiseLoss.Huber(Reduction.NONE, 1.5)).kind());
    }
}
