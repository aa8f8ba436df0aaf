package org.losskit.cuda;

import jcuda.driver.CUresult;

/** A CUDA driver call failed; the message names the call and the driver's error. */
public final class CudaException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** The driver's CUresult code. */
    private final int result;

    CudaException(String call, int result) {
        super(call + " failed: " + CUresult.stringFor(result) + " (" + result + ")");
        this.result = result;
    }

    /**
     * The driver's error.
     *
     * @return the CUresult code (cuda.h), never CUDA_SUCCESS (0)
     */
    public int result() {
        return result;
    }

    /** The one check every driver call goes through: throws unless {@code result} is CUDA_SUCCESS. */
    static void check(int result, String call) {
        if (result != CUresult.CUDA_SUCCESS) throw new CudaException(call, result);
    }
}
