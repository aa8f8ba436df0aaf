// The one translation unit nvcc turns into losskit.ptx (a single module, loaded once by the CUDA backend).
// Every kernel is extern "C" so its PTX entry name is the name the backend looks up (org.losskit.cuda.Kernel).
#include "cross_entropy.cuh"
#include "softmax_focal.cuh"
#include "nll.cuh"
#include "elementwise.cuh"
#include "dice.cuh"
#include "reductions.cuh"
