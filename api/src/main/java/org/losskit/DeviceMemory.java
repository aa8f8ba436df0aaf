package org.losskit;

/**
 * Memory that lives on an accelerator and is owned by a backend (for example the CUDA backend's
 * {@code DeviceBuffer}). The API never dereferences it; it only checks sizes and overlaps before it hands
 * a {@link Matrix} over device memory to the backend that owns it.
 */
public interface DeviceMemory {
    /** Device address of the first byte. */
    long address();

    /** Capacity in bytes. */
    long byteSize();

    /** Name of the backend that owns this memory ("cuda"); a call with device data runs there. */
    String backendName();

    /** False once the memory was freed; a matrix over freed memory is rejected before any launch. */
    boolean isOpen();
}
