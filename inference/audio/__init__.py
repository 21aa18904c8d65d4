"""Audio in and out: decoding any common format, writing atomically, naming outputs, and the
inputs a user names (files, folders, lists).

- :mod:`.decode`: :func:`load_audio`, :func:`load_audio_segment`, :func:`audio_info`, :func:`resample`;
- :mod:`.write`: :func:`write_audio`, :class:`AudioWriter`, :func:`open_writer`;
- :mod:`.encode`: mp3, m4a and ogg through PyAV (:class:`EncodedWriter`);
- :mod:`.naming`: the output naming rule (:func:`render_name`, :func:`unique_path`);
- :mod:`.files`: the audio extensions, list files and :func:`expand_inputs`.

Importing this package loads only numpy; soundfile, av and soxr load on first use.
"""

from inference.audio.decode import AudioError, audio_info, load_audio, load_audio_segment, resample
from inference.audio.files import SUPPORTED_EXTENSIONS, expand_inputs, read_list_file
from inference.audio.naming import DEFAULT_TEMPLATE, NamingError, render_name, unique_path
from inference.audio.write import AudioWriter, open_writer, write_audio

__all__ = [
    "DEFAULT_TEMPLATE",
    "SUPPORTED_EXTENSIONS",
    "AudioError",
    "AudioWriter",
    "NamingError",
    "audio_info",
    "expand_inputs",
    "load_audio",
    "load_audio_segment",
    "open_writer",
    "read_list_file",
    "render_name",
    "resample",
    "unique_path",
    "write_audio",
]
