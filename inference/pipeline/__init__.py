"""The conversion pipeline: the one place that strings the stages together.

- :class:`Converter` (:mod:`.converter`): files, arrays and preview regions in, converted audio out;
- :mod:`.params`: what a conversion is asked to do (:class:`ConversionParams`), every
  parameter's range, default and step, and the result;
- :mod:`.chunking`: cutting long inputs at quiet points; :mod:`.steps`: the numeric steps
  (high-pass, protect, RMS mix, peak); :mod:`.cache`: the analysis cache;
  :mod:`.job`: what one conversion needs, resolved before any work;
  :mod:`.io`: decoding with checks and streaming the output to disk; :mod:`.progress`:
  stage timings and progress.
"""

from inference.pipeline.converter import ConversionError, Converter
from inference.pipeline.params import ConversionParams, ConversionResult
from inference.pipeline.progress import STAGES

__all__ = ["STAGES", "ConversionError", "ConversionParams", "ConversionResult", "Converter"]
