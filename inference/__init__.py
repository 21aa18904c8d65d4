"""RVC Studio's inference engine: formats, models, the conversion pipeline, the headless CLI.

Nothing here imports Qt. Heavy libraries (torch, mlx, transformers, faiss) are imported
inside the functions that need them, never at module import time.
"""
