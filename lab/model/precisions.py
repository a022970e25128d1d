"""The precisions a model can load in, each with what it means to a user: the one list that the
loader (lab.model.precision), the CLI's --dtype and the app's Precision menu share. Torch-free, so
the CLI's parser starts without importing torch."""
from __future__ import annotations

PRECISIONS = {
    "auto": "Automatic (float32 on this computer's CPU, bfloat16 on GPUs)",
    "float32": "float32 (exact, same results on every computer, most memory)",
    "bfloat16": "bfloat16 (half the memory; speed on a CPU varies, see Help)",
    "float16": "float16 (GPU only)",
}
DTYPE_CHOICES = tuple(PRECISIONS)
