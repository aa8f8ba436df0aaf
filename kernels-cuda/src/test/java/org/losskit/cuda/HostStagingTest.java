package org.losskit.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import org.losskit.DeviceMemory;
import org.losskit.ElementType;
import org.losskit.Matrix;

/**
 * The marshalling of host and device operands, with the pinned buffer played by a native segment and the device
 * by the test: what goes up, where each operand lands, and what comes back into the caller's storage.
 */
class HostStagingTest {
    private final List<String> copies = new ArrayList<>();
    private final HostStaging.Transfer recorder = new HostStaging.Transfer() {
        @Override
        public void hostToDevice(long offset, long bytes) {
            copies.add("up " + offset + " " + bytes);
        }

        @Override
        public void deviceToHost(long offset, long bytes) {
            copies.add("down " + offset + " " + bytes);
        }
    };

    private static HostStaging staging() {
        return new HostStaging((m, name) -> 1_000_000L);
    }

    @Test
    void stridedInputIsOneCopyOfTheBytesItSpans() {
        float[] data = new float[20];
        for (int i = 0; i < data.length; i++) data[i] = i;
        Matrix m = Matrix.of(data, 2, 2, 3, 5); // offset 2, 2 rows of 3, stride 5: {2,3,4} and {7,8,9}
        HostStaging staging = staging();
        DeviceOperand op = staging.input(m, "logits");
        assertEquals(DeviceOperand.Kind.STAGED, op.kind());
        assertEquals(5, op.rowStride());
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment pinned = arena.allocate(staging.size());
            staging.upload(pinned, recorder);
            assertEquals(List.of("up 0 32"), copies); // (2 - 1) * 5 + 3 = 8 floats
            assertEquals(2f, pinned.getAtIndex(ValueLayout.JAVA_FLOAT, 0));
            assertEquals(7f, pinned.getAtIndex(ValueLayout.JAVA_FLOAT, 5));
            assertEquals(1_000_000L + 64, op.address(() -> 1_000_000L + 64));
        }
    }

    @Test
    void regionsAreAligned() {
        HostStaging staging = staging();
        assertEquals(0, staging.reserve(4));
        assertEquals(HostStaging.ALIGNMENT, staging.reserve(1));
        assertEquals(2 * HostStaging.ALIGNMENT, staging.reserve(0));
    }

    @Test
    void paddedGradientKeepsThePaddingBetweenRows() {
        float[] grad = {-1, -1, -1, 99, -1, -1, -1};
        Matrix g = Matrix.of(grad, 0, 2, 3, 4);
        HostStaging staging = staging();
        DeviceOperand op = staging.output(g, "gradient");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment pinned = arena.allocate(staging.size());
            staging.upload(pinned, recorder);
            staging.download(recorder);
            assertEquals(List.of("up 0 28", "down 0 28"), copies);
            // the "device" writes the gradient elements only
            for (int i : new int[] {0, 1, 2, 4, 5, 6}) pinned.setAtIndex(ValueLayout.JAVA_FLOAT, i, i * 10f);
            staging.deliver(pinned);
        }
        assertArrayEquals(new float[] {0, 10, 20, 99, 40, 50, 60}, grad);
        assertEquals(4, op.rowStride());
    }

    @Test
    void contiguousGradientIsNotCopiedUp() {
        HostStaging staging = staging();
        staging.output(Matrix.of(new float[6], 2, 3), "gradient");
        try (Arena arena = Arena.ofConfined()) {
            staging.upload(arena.allocate(staging.size()), recorder);
        }
        assertEquals(List.of(), copies);
    }

    @Test
    void inPlaceGradientComesBackOverTheInput() {
        float[] logits = {1, 2, 3, 4};
        Matrix m = Matrix.of(logits, 2, 2);
        HostStaging staging = staging();
        DeviceOperand x = staging.input(m, "logits");
        DeviceOperand g = staging.inPlace(x, m);
        assertEquals(x, g);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment pinned = arena.allocate(staging.size());
            staging.upload(pinned, recorder);
            staging.download(recorder);
            for (int i = 0; i < 4; i++) pinned.setAtIndex(ValueLayout.JAVA_FLOAT, i, -i);
            staging.deliver(pinned);
        }
        assertEquals(List.of("up 0 16", "down 0 16"), copies);
        assertArrayEquals(new float[] {0, -1, -2, -3}, logits);
    }

    @Test
    void indexTargetsArePackedDensely() {
        int[] storage = {9, 4, 9, -100, 9, 2};
        // a strided int view: three rows of one column, stride 2, from offset 1
        Matrix strided = Matrix.of(MemorySegment.ofArray(storage), ElementType.INT32, 1, 3, 1, 2);
        HostStaging staging = staging();
        DeviceOperand op = staging.indexVector(strided, "targets");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment pinned = arena.allocate(staging.size());
            staging.upload(pinned, recorder);
            assertArrayEquals(new int[] {4, -100, 2}, pinned.asSlice(0, 12).toArray(ValueLayout.JAVA_INT));
        }
        assertEquals(DeviceOperand.Kind.STAGED, op.kind());
    }

    @Test
    void flatOutputsAreDeliveredByFlatIndex() {
        float[] storage = new float[8];
        Matrix losses = Matrix.of(storage, 0, 2, 2, 4); // flat 0,1 -> [0],[1]; flat 2,3 -> [4],[5]
        int[] argmax = new int[3];
        HostStaging staging = staging();
        staging.flatOutput(losses, 3, "losses");
        staging.flatOutput(Matrix.vector(argmax), 3, "argmax");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment pinned = arena.allocate(staging.size());
            for (int i = 0; i < 3; i++) pinned.setAtIndex(ValueLayout.JAVA_FLOAT, i, i + 0.5f);
            for (int i = 0; i < 3; i++) pinned.set(ValueLayout.JAVA_INT, HostStaging.ALIGNMENT + 4L * i, 10 + i);
            staging.deliver(pinned);
        }
        assertArrayEquals(new float[] {0.5f, 1.5f, 0, 0, 2.5f, 0, 0, 0}, storage);
        assertArrayEquals(new int[] {10, 11, 12}, argmax);
    }

    @Test
    void absentOperandsAreNullPointers() {
        HostStaging staging = staging();
        assertTrue(staging.input(null, "weight").isAbsent());
        assertTrue(staging.hostFloats(null).isAbsent());
        assertTrue(staging.flatOutput(null, 3, "losses").isAbsent());
        assertEquals(0, DeviceOperand.ABSENT.address(() -> 1234));
    }

    @Test
    void deviceOperandsAreUsedInPlaceAndVectorsMustBeDense() {
        DeviceMemory memory = new FakeDeviceMemory(4096);
        HostStaging staging = staging();
        DeviceOperand logits = staging.input(Matrix.onDevice(memory, ElementType.BFLOAT16, 8, 2, 3, 5), "logits");
        assertEquals(DeviceOperand.Kind.DEVICE, logits.kind());
        assertEquals(1_000_000L + 16, logits.address(() -> 0));
        assertEquals(1, logits.typeCode());
        assertEquals(0, staging.size(), "device operands need no staging");
        Matrix strided = Matrix.onDevice(memory, ElementType.FLOAT32, 0, 2, 1, 4);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> staging.flatOutput(strided, 2, "losses"));
        assertTrue(e.getMessage().contains("losses") && e.getMessage().contains("contiguous"), e.getMessage());
    }

    private record FakeDeviceMemory(long byteSize) implements DeviceMemory {
        @Override public long address() { return 1_000_000L; }
        @Override public String backendName() { return "cuda"; }
        @Override public boolean isOpen() { return true; }
    }
}
