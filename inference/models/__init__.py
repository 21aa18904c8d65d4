"""Voice models and the weights beside them.

- :mod:`.checkpoint`: reading a voice model ``.pth`` safely (config, metadata, generator weights);
- :mod:`.structure`: a ``.pth``'s structure without torch (the library's fast path);
- :mod:`.load_errors`: what a failed load of a user's file means, in one line;
- :mod:`.weights`: finding the embedder and pitch weights (Replay's folder first);
- :mod:`.library`: finding the user's voice models and their indexes.
"""
