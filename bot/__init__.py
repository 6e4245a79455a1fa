"""Migrant hotline: flows in four languages with handoff to human mediators."""

import os

# numpy's BLAS spreads even the classifier's small matrix products over every core: on a busy 2-core
# machine that tripled the understanding's training time. One thread each, before numpy is imported.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")
