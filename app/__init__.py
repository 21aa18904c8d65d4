"""RVC Studio's desktop application: the Qt application object, settings, workers and widgets."""

__version__ = "0.1.0"
