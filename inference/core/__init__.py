"""What every stage shares: user-facing errors (:mod:`.errors`), the user's folders
(:mod:`.paths`), process set-up before heavy imports (:mod:`.runtime`) and safe, hash-keyed
cache files (:mod:`.filecache`). Light: nothing here imports torch, mlx or faiss at import time."""
