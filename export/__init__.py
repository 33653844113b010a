"""Writing, verifying and loading the ONNX policy artifact (being built: see the export issue)."""
