"""`minfree doctor`: read the kernel, explain its memory reserves, say what to change."""
