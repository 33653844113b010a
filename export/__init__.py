"""Writing, verifying and loading the ONNX policy artifact.

``export.runtime`` (the deployed ``OnnxPolicy``) and ``export.metadata`` are torch-free;
``export.onnx_export`` and ``export.verify`` are used at export time and import torch there.
"""
