#!/usr/bin/env bash
# Turns src-cuda/cuda/losskit.cu into PTX and checks it with ptxas.
#
#   build-ptx.sh OUT.ptx            compile to OUT.ptx
#   build-ptx.sh OUT.ptx --ptxas    also run ptxas -v for sm_80 and sm_90; print registers and spills per kernel
#                                   and keep the full reports next to OUT.ptx (OUT.sm_80.txt, OUT.sm_90.txt)
#
# nvcc is $NVCC, else nvcc on PATH, else /usr/local/bin/nvcc or /usr/local/cuda/bin/nvcc; exit status 3 when none
# exists (callers treat that as "no CUDA toolkit here"). The flags make the output deterministic: no -lineinfo or
# -G (which would embed source paths), a fixed virtual architecture, and nothing else in the PTX depends on the
# machine, the time or the directory (the header names only the compiler version).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$(realpath -m "${1:?usage: build-ptx.sh OUT.ptx [--ptxas]}")"
mode="${2:-}"

nvcc="${NVCC:-}"
if [[ -z "$nvcc" ]]; then
  for candidate in "$(command -v nvcc 2>/dev/null || true)" /usr/local/bin/nvcc /usr/local/cuda/bin/nvcc; do
    if [[ -n "$candidate" && -x "$candidate" ]]; then nvcc="$candidate"; break; fi
  done
fi
if [[ -z "$nvcc" || ! -x "$nvcc" ]]; then
  echo "build-ptx.sh: nvcc not found (set NVCC or put it on PATH); the committed PTX is used" >&2
  exit 3
fi

# compute_75: the lowest architecture CUDA 13 supports; the driver JIT-compiles the PTX for newer GPUs.
mkdir -p "$(dirname "$out")"
(cd "$here/cuda" && "$nvcc" -arch=compute_75 -ptx -std=c++17 -O3 -o "$out.tmp" losskit.cu)
mv "$out.tmp" "$out"

if [[ "$mode" == "--ptxas" ]]; then
  ptxas="$(dirname "$(readlink -f "$nvcc")")/ptxas"
  [[ -x "$ptxas" ]] || ptxas="$(command -v ptxas)"
  for arch in sm_80 sm_90; do
    report="${out%.ptx}.$arch.txt"
    "$ptxas" -arch="$arch" -v "$out" -o /dev/null 2> "$report"
    echo "ptxas $arch (registers, spill stores/loads per kernel; full report: $report)"
    awk -v arch="$arch" '
      /Compiling entry function/ { match($0, /'"'"'[^'"'"']+'"'"'/); name = substr($0, RSTART + 1, RLENGTH - 2) }
      /spill stores/ { match($0, /[0-9]+ bytes spill stores/); st = substr($0, RSTART, RLENGTH)
                       match($0, /[0-9]+ bytes spill loads/); ld = substr($0, RSTART, RLENGTH) }
      /Used [0-9]+ registers/ { match($0, /Used [0-9]+ registers/); printf "  %-32s %-20s %s, %s\n", name, substr($0, RSTART + 5, RLENGTH - 5), st, ld }
    ' "$report"
    if grep 'bytes spill' "$report" | grep -qv ' 0 bytes spill stores, 0 bytes spill loads'; then
      echo "ptxas $arch: WARNING: a kernel spills registers (see $report)" >&2
    fi
    # Row kernels run 512-thread blocks: 65536 registers / 512 threads = 128 per thread at most.
    most="$(grep -o 'Used [0-9]* registers' "$report" | awk '{ if ($2 > m) m = $2 } END { print m + 0 }')"
    if (( most > 128 )); then
      echo "ptxas $arch: a kernel uses $most registers per thread; 512-thread launches need 128 or fewer" >&2
      exit 1
    fi
  done
fi
