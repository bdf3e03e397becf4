"""sbn-mcu: Self-Binarizing Networks from PyTorch training to bit-exact Cortex-M C."""

__version__ = "0.1.0"
