package org.losskit.spi;

/**
 * Whether a backend can run here, and if not, why and how to fix it.
 *
 * @param available true when {@link BackendProvider#open} is expected to succeed
 * @param detail    what was found ("Vector API, 512-bit species") or what is missing ("libcuda.so.1 not found")
 * @param fix       what the user can do about a missing backend ("install the NVIDIA driver"); empty when available
 * @param cause     the underlying exception, when there is one
 */
public record BackendProbe(boolean available, String detail, String fix, Throwable cause) {

    public static BackendProbe available(String detail) {
        return new BackendProbe(true, detail, "", null);
    }

    public static BackendProbe unavailable(String detail, String fix, Throwable cause) {
        return new BackendProbe(false, detail, fix, cause);
    }
}
